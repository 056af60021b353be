package log

// NewDecolorizer returns `| decolorize`: ANSI escape sequences (colours and other CSI/OSC
// sequences) are removed from the line.
func NewDecolorizer() Stage { return &decolorizer{} }

type decolorizer struct{ buf []byte }

// Process returns line itself when it has no escape sequence, else the stage's buffer, valid
// until the next call.
func (d *decolorizer) Process(_ int64, line []byte, _ *LabelsBuilder) ([]byte, bool) {
	first := -1
	for i, c := range line {
		if c == 0x1b || c == 0x9b {
			first = i
			break
		}
	}
	if first < 0 {
		return line, true
	}
	out := append(d.buf[:0], line[:first]...)
	for i := first; i < len(line); {
		if n := ansiLen(line[i:]); n > 0 {
			i += n
			continue
		}
		out = append(out, line[i])
		i++
	}
	d.buf = out
	return out, true
}

// ansiLen returns the length of the escape sequence at the start of b, or 0.
func ansiLen(b []byte) int {
	if len(b) == 0 {
		return 0
	}
	i := 0
	switch b[0] {
	case 0x9b: // 8-bit CSI
		i = 1
	case 0x1b:
		if len(b) < 2 {
			return 0
		}
		switch b[1] {
		case '[':
			i = 2
		case ']': // OSC: ends with BEL or ESC \
			for j := 2; j < len(b); j++ {
				if b[j] == 0x07 {
					return j + 1
				}
				if b[j] == 0x1b && j+1 < len(b) && b[j+1] == '\\' {
					return j + 2
				}
			}
			return 0
		case '(', ')', '#':
			if len(b) >= 3 {
				return 3
			}
			return 0
		default:
			return 0
		}
	default:
		return 0
	}
	// CSI: parameter bytes 0x30-0x3F, intermediate bytes 0x20-0x2F, one final byte 0x40-0x7E.
	for i < len(b) && b[i] >= 0x30 && b[i] <= 0x3f {
		i++
	}
	for i < len(b) && b[i] >= 0x20 && b[i] <= 0x2f {
		i++
	}
	if i < len(b) && b[i] >= 0x40 && b[i] <= 0x7e {
		return i + 1
	}
	return 0
}
