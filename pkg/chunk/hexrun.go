package chunk

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"slices"
)

// Hex runs: trace and span IDs, request IDs, hashes. Written as lowercase hex they are random
// to the codec, which spends four and a half to five bits on each digit (its literal model is
// shared with the text around them), and a run repeated on the next lines (a request's trace
// ID) costs a match each time. A block of format version 5 may move the runs of its lines to
// a column of their own: the line keeps a one-byte mark (the block's hex mark) where the run
// was, and the column holds the run packed two digits to a byte, or, for a run equal to an
// earlier run of the block, how many runs back that one is (version 5 wrote only repeats of
// the last 16 runs; version 6 takes any). Packed digits are stored as they are,
// beside the timestamp planes (four bits each, their entropy), and the reader unpacks them.
//
// A run is a maximal sequence of at least minHexRun lowercase hex digits (0-9, a-f) with no
// word byte (letter, digit or '_') on either side: a whole word, so that the search rules of
// hexSafeNeedle hold.

const (
	// minHexRun is the shortest run a writer packs: shorter words (a status, a port, "cafe")
	// gain little and are common in the text around them.
	minHexRun = 16
	// maxHexRun bounds a run's length, so that a corrupt column cannot claim absurd sizes.
	maxHexRun = 1 << 16
)

// byteClass holds, per byte, classHex for lowercase hex digits and classWord for letters,
// digits and '_' (the bytes that continue a word; hex digits are word bytes too).
var byteClass = func() (t [256]uint8) {
	for c := 0; c < 256; c++ {
		switch {
		case c >= '0' && c <= '9', c >= 'a' && c <= 'f':
			t[c] = classHex | classWord
		case c >= 'g' && c <= 'z', c >= 'A' && c <= 'Z', c == '_':
			t[c] = classWord
		}
	}
	return t
}()

const (
	classHex  = 1
	classWord = 2
)

func isHexDigit(c byte) bool { return byteClass[c]&classHex != 0 }

// isWordByte reports whether c is a letter, a digit or '_': a byte that continues a word.
func isWordByte(c byte) bool { return byteClass[c]&classWord != 0 }

// hexRunAt is a run of a line of the block being written.
type hexRunAt struct {
	at, n uint32 // the run is h.lines[at : at+n]
	// rep is 0 for a run stored packed, else how many runs back the latest equal one is (1
	// is the previous run).
	rep uint32
}

// appendHexRuns appends the runs of line, which starts at lines[base], to runs, leaving out
// any that overlaps [skipFrom, skipTo) (a line offset range: the line's elided stamp).
// A run of minHexRun digits holds one of every minHexRun consecutive offsets, so only those
// offsets are looked at until a digit is found.
func appendHexRuns(runs []hexRunAt, line []byte, base uint32, skipFrom, skipTo int) []hexRunAt {
	for i := minHexRun - 1; i < len(line); {
		if !isHexDigit(line[i]) {
			i += minHexRun
			continue
		}
		// A run of minHexRun digits holding i holds i-8 or i+8 as well: words and numbers of a
		// few digits are passed over without measuring them.
		if (i < 8 || !isHexDigit(line[i-8])) && (i+8 >= len(line) || !isHexDigit(line[i+8])) {
			i += minHexRun
			continue
		}
		a, b := i, i+1
		for a > 0 && isHexDigit(line[a-1]) {
			a--
		}
		for b < len(line) && isHexDigit(line[b]) {
			b++
		}
		if b-a >= minHexRun && b-a <= maxHexRun && (a == 0 || !isWordByte(line[a-1])) &&
			(b == len(line) || !isWordByte(line[b])) && (b <= skipFrom || a >= skipTo) {
			runs = append(runs, hexRunAt{at: base + uint32(a), n: uint32(b - a)})
		}
		// The byte at b is not a digit, so the next run starts after it.
		i = b + minHexRun
	}
	return runs
}

// packedLen is the size of a run of n digits packed.
func packedLen(n int) int { return (n + 1) / 2 }

// appendPacked appends run, lowercase hex digits, packed two digits to a byte, the first digit
// in the high half; an odd last digit leaves the low half zero.
func appendPacked(dst, run []byte) []byte {
	n := len(dst)
	dst = slices.Grow(dst, packedLen(len(run)))[:n+packedLen(len(run))]
	out := dst[n:]
	// Eight digits at a time: a digit's value is its low four bits, plus 9 for a letter (bit 6
	// set); then each pair goes into one byte, and the four bytes together.
	i := 0
	for ; i+8 <= len(run); i += 8 {
		x := binary.LittleEndian.Uint64(run[i:])
		v := x&0x0f0f0f0f0f0f0f0f + 9*(x>>6&0x0101010101010101)
		w := (v&0x000f000f000f000f)<<4 | (v>>8)&0x000f000f000f000f
		w = (w | w>>8) & 0x0000ffff0000ffff
		w = (w | w>>16) & 0xffffffff
		binary.LittleEndian.PutUint32(out[i/2:], uint32(w))
	}
	for ; i+1 < len(run); i += 2 {
		out[i/2] = digitValue(run[i])<<4 | digitValue(run[i+1])
	}
	if i < len(run) {
		out[i/2] = digitValue(run[i]) << 4
	}
	return dst
}

// digitValue is the value of c, a lowercase hex digit.
func digitValue(c byte) byte { return c&15 + 9*(c>>6) }

const hexDigits = "0123456789abcdef"

// appendUnpacked appends the n digits packed in p.
func appendUnpacked(dst, p []byte, n int) []byte {
	m := len(dst)
	dst = slices.Grow(dst, n)[:m+n]
	out := dst[m:]
	// Eight digits at a time: each byte's two halves go to two bytes, high half first, and
	// a half v becomes '0'+v, or 'a'+v-10 (39 more) from 10 on.
	i := 0
	for ; i+8 <= n; i += 8 {
		z := uint64(binary.LittleEndian.Uint32(p[i/2:]))
		z = (z | z<<16) & 0x0000ffff0000ffff
		z = (z | z<<8) & 0x00ff00ff00ff00ff
		v := z>>4&0x000f000f000f000f | (z&0x000f000f000f000f)<<8
		v += 0x3030303030303030 + 39*((v+0x0606060606060606)>>4&0x0101010101010101)
		binary.LittleEndian.PutUint64(out[i:], v)
	}
	for ; i < n; i++ {
		b := p[i/2]
		if i%2 == 0 {
			b >>= 4
		}
		out[i] = hexDigits[b&15]
	}
	return dst
}

// hexRun is a run of a block being read: n digits packed at raw[off:].
type hexRun struct {
	off, n int32
}

// parseHexRuns reads the run heads column of a block, heads, whose packed digits are
// packed (at offset base in the raw block), into runs. Every packed byte must belong to a run.
// The runs' digits, repeats included, may add up to maxBlockRawSize at most: a writer cuts a
// block before its lines pass that, and a corrupt column of repeats must not make a reader
// rebuild more.
func parseHexRuns(runs []hexRun, heads, packed []byte, base int) ([]hexRun, error) {
	runs = runs[:0]
	used, digits := 0, 0
	for pos := 0; pos < len(heads); {
		h, p := uvarint(heads, pos)
		if p < 0 {
			return runs, errors.New("hex run column truncated")
		}
		pos = p
		if h&1 == 1 {
			back := h>>1 + 1
			if back > uint64(len(runs)) {
				return runs, fmt.Errorf("hex run repeats the run %d back, of %d", back, len(runs))
			}
			runs = append(runs, runs[len(runs)-int(back)])
		} else {
			n := h >> 1
			if n < minHexRun || n > maxHexRun || uint64(packedLen(int(n))) > uint64(len(packed)-used) {
				return runs, fmt.Errorf("hex run of %d digits: out of range", n)
			}
			if n%2 == 1 && packed[used+packedLen(int(n))-1]&15 != 0 {
				return runs, errors.New("hex run's padding is not zero")
			}
			runs = append(runs, hexRun{off: int32(base + used), n: int32(n)})
			used += packedLen(int(n))
		}
		if digits += int(runs[len(runs)-1].n); digits > maxBlockRawSize {
			return runs, fmt.Errorf("hex runs expand to more than %d bytes", maxBlockRawSize)
		}
	}
	if used != len(packed) {
		return runs, fmt.Errorf("hex runs use %d of %d packed bytes", used, len(packed))
	}
	return runs, nil
}

// hexSafeNeedle reports whether a search for needle in a block's lines as stored, hex marks
// and all, finds every line whose expanded form holds it. An occurrence the search misses
// overlaps a run R, a whole word of hex digits at least minHexRun long; the occurrence then
// lies within R (the needle is all hex digits), or holds all of R (minHexRun digits in a row),
// or starts inside R and goes on past its end (the needle's leading digits are followed by a
// byte that is not a word byte, as the one after R is), or the mirror of that at R's start.
// A needle with a control byte is refused as well: the mark is one.
func hexSafeNeedle(needle []byte) bool {
	if len(needle) == 0 {
		return false
	}
	lead := 0
	for lead < len(needle) && isHexDigit(needle[lead]) {
		lead++
	}
	if lead == len(needle) || (lead > 0 && !isWordByte(needle[lead])) {
		return false
	}
	trail := 0
	for trail < len(needle) && isHexDigit(needle[len(needle)-1-trail]) {
		trail++
	}
	if trail > 0 && !isWordByte(needle[len(needle)-1-trail]) {
		return false
	}
	run := 0
	for _, c := range needle {
		if c < 0x20 {
			return false
		}
		if isHexDigit(c) {
			if run++; run >= minHexRun {
				return false
			}
		} else {
			run = 0
		}
	}
	return true
}

// head is the run's entry in the run heads column: the run's length times two for a run stored
// packed, or its distance back minus one, times two, plus one, for a repeat.
func (r hexRunAt) head() uint64 {
	if r.rep > 0 {
		return uint64(r.rep-1)<<1 | 1
	}
	return uint64(r.n) << 1
}

// hexNeedle reports whether needle is all lowercase hex digits, at least minHexRun of them: a
// trace, span or request ID, which mayHoldHexNeedle looks for in a block before its lines are
// rebuilt.
func hexNeedle(needle []byte) bool {
	if len(needle) < minHexRun {
		return false
	}
	for _, c := range needle {
		if !isHexDigit(c) {
			return false
		}
	}
	return true
}

// mayHoldHexNeedle reports whether a rebuilt line of a block may hold needle (hexNeedle), given
// the block's lines as stored and its packed runs; false means none does. Being all digits and
// longer than any run of digits inside a stamp, an occurrence lies within a run (runs end
// where a word does, so it cannot cross one's edge), or in the stored text, or across the edge
// of an elided stamp, where it takes at most the stamp's first four digits (a year, a day, a
// klog month and day) or its last nine (a fraction), the rest being stored text.
func mayHoldHexNeedle(lines, packed, needle []byte) bool {
	return bytes.Contains(lines, needle[:len(needle)-4]) || bytes.Contains(lines, needle[9:]) ||
		packedContains(packed, needle)
}

// packedContains reports whether needle, lowercase hex digits, may be among the digits packed
// in p: it looks for them starting in the high half of a byte and in the low half. It may
// report a needle spread over two runs' digits, never miss one within a run.
func packedContains(p, needle []byte) bool {
	for _, skip := range []int{0, 1} { // digits before the first whole byte
		rest := needle[skip:]
		core := appendPacked(nil, rest[:len(rest)&^1])
		for off := skip; off <= len(p); {
			i := bytes.Index(p[off:], core)
			if i < 0 {
				break
			}
			at := off + i
			end := at + len(core)
			if (skip == 0 || p[at-1]&15 == digitValue(needle[0])) &&
				(len(rest)%2 == 0 || (end < len(p) && p[end]>>4 == digitValue(rest[len(rest)-1]))) {
				return true
			}
			off = at + 1
		}
	}
	return false
}
