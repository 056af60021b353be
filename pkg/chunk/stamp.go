package chunk

import (
	"bytes"
	"errors"
	"fmt"
	"slices"
	"time"
)

// Stamps: most log lines carry their own time, written by the application, and it is nearly
// always the entry's timestamp at the line's precision (a promtail timestamp stage makes them
// equal) or a few milliseconds before it (the container runtime stamps the entry when it reads
// the line). To the codec the line's changing digits are close to random, about three bytes a
// line after compression; the entry's timestamp already holds them. So a block of format
// version 4 may elide the first timestamp of a line in one of the layouts below: the line keeps
// a one-byte mark (the block's escape byte) where the stamp was, and the stamps column holds
// the layout and the stamp's distance from the entry's timestamp, which is 0 when they agree.
// The reader renders the stamp back. The writer elides a stamp only when rendering it back
// gives the very bytes it removes, so the transformation is lossless by construction.

// stampFormats are the layouts a block may elide, by stored number minus one. Their order is
// part of the format (FORMAT.md lists them): new layouts go at the end. Each is written in
// UTC, fixed width: YYYY year, MM month, Mon month name (Jan), DD day, hh hour (00-23), mm
// minute, ss second, a run of f the fraction of a second in that many digits; any other byte
// stands for itself.
var stampFormats = compileStampFormats([]string{
	"YYYY-MM-DDThh:mm:ssZ", // RFC 3339
	"YYYY-MM-DDThh:mm:ss.fffZ",
	"YYYY-MM-DDThh:mm:ss.ffffffZ",
	"YYYY-MM-DDThh:mm:ss.fffffffffZ",
	"YYYY-MM-DDThh:mm:ss+00:00",
	"YYYY-MM-DDThh:mm:ss.fff+00:00",
	"YYYY-MM-DDThh:mm:ss.ffffff+00:00",
	"YYYY-MM-DDThh:mm:ss.fffffffff+00:00",
	"YYYY-MM-DD hh:mm:ss", // log4j, logback, Spring Boot, Python
	"YYYY-MM-DD hh:mm:ss.fff",
	"YYYY-MM-DD hh:mm:ss.ffffff",
	"YYYY-MM-DD hh:mm:ss,fff",
	"DD/Mon/YYYY:hh:mm:ss +0000", // nginx, Apache
	"YYYY/MM/DD hh:mm:ss",        // Go's log package
	"YYYY/MM/DD hh:mm:ss.ffffff",
	"MMDD hh:mm:ss.ffffff", // klog, after the severity letter
})

// maxStampDistance bounds how far an elided stamp may be from its entry's timestamp.
const maxStampDistance = int64(24 * time.Hour)

type stampField uint8

const (
	stampLiteral stampField = iota
	stampYear
	stampMonth
	stampMonthName
	stampDay
	stampHour
	stampMinute
	stampSecond
	stampFraction
)

type stampItem struct {
	field stampField
	lit   byte // stampLiteral
	n     int  // digits (3 for a month name)
	pos   int  // where the item starts in a rendered stamp
}

type stampFormat struct {
	layout string
	items  []stampItem
	// template is a rendered stamp with every field zero (month Jan): literals in place.
	template []byte
	width    int
	unit     int64 // nanoseconds per stored unit: 10^(9 - fraction digits)
	anchor   stampAnchor
	// secItem is the index of the seconds item: the items before it depend only on the
	// minute, and after it come only the fraction and literals.
	secItem int
	secAt   int // items[secItem].pos
	fracAt  int // the fraction's position, 0 without one
	fracN   int
	// maxD bounds a stored distance (maxStampDistance in units); minQ and maxQ bound an
	// instant in units, so that it fits an int64 in nanoseconds.
	maxD, minQ, maxQ int64
	// tailLits are the literals after the seconds, by position.
	tailLits []stampItem
}

// stampAnchor says how the writer finds a layout in a line: by the entry's date written the
// layout's way, where the layout starts.
type stampAnchor uint8

const (
	anchorISODate   stampAnchor = iota // YYYY-MM-DD
	anchorNginxDate                    // DD/Mon/YYYY
	anchorSlashDate                    // YYYY/MM/DD
	anchorKlog                         // MMDD after a severity letter at the line's start
	anchors
)

var monthNames = [12]string{"Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"}

var twoDigitFields = []struct {
	sym   string
	field stampField
}{{"MM", stampMonth}, {"DD", stampDay}, {"hh", stampHour}, {"mm", stampMinute}, {"ss", stampSecond}}

func compileStampFormats(layouts []string) []stampFormat {
	out := make([]stampFormat, len(layouts))
	for i, l := range layouts {
		f := stampFormat{layout: l, unit: int64(time.Second)}
		for p := 0; p < len(l); {
			var it stampItem
			start := p
			switch {
			case hasPrefixAt(l, p, "YYYY"):
				it, p = stampItem{field: stampYear, n: 4}, p+4
				f.template = append(f.template, "0000"...)
			case hasPrefixAt(l, p, "Mon"):
				it, p = stampItem{field: stampMonthName, n: 3}, p+3
				f.template = append(f.template, monthNames[0]...)
			case l[p] == 'f':
				n := 0
				for p < len(l) && l[p] == 'f' {
					n, p = n+1, p+1
				}
				it = stampItem{field: stampFraction, n: n}
				f.unit = int64(pow10[9-n])
				f.fracAt, f.fracN = start, n
				if n != 3 && n != 6 && n != 9 {
					panic("stamp layout " + l + ": a fraction has 3, 6 or 9 digits")
				}
				f.template = append(f.template, "000000000"[:n]...)
			default:
				it, p = stampItem{field: stampLiteral, lit: l[p], n: 1}, p+1
				for _, two := range twoDigitFields {
					if hasPrefixAt(l, start, two.sym) {
						it, p = stampItem{field: two.field, n: 2}, start+2
					}
				}
				if it.field == stampLiteral {
					f.template = append(f.template, it.lit)
				} else {
					f.template = append(f.template, "00"...)
				}
			}
			it.pos = start
			if it.field == stampSecond {
				f.secItem, f.secAt = len(f.items), start
			}
			f.items = append(f.items, it)
		}
		f.width = len(l) // every field is as wide as its symbol
		f.maxD, f.minQ, f.maxQ = maxStampDistance/f.unit, minInt64/f.unit, maxInt64/f.unit
		for _, it := range f.items[f.secItem+1:] {
			switch it.field {
			case stampLiteral:
				f.tailLits = append(f.tailLits, it)
			case stampFraction:
			default:
				panic("stamp layout " + l + ": only a fraction may follow the seconds")
			}
		}
		switch {
		case hasPrefixAt(l, 0, "YYYY-"):
			f.anchor = anchorISODate
		case hasPrefixAt(l, 0, "DD/"):
			f.anchor = anchorNginxDate
		case hasPrefixAt(l, 0, "YYYY/"):
			f.anchor = anchorSlashDate
		default:
			f.anchor = anchorKlog
		}
		out[i] = f
	}
	return out
}

func hasPrefixAt(s string, p int, prefix string) bool {
	return len(s)-p >= len(prefix) && s[p:p+len(prefix)] == prefix
}

func floorDiv(a, b int64) int64 {
	q := a / b
	if (a%b != 0) && ((a < 0) != (b < 0)) {
		q--
	}
	return q
}

// floorDiv returns x divided by f's unit, rounded down. The units are constants to the
// compiler here, which divides by a constant without a division instruction: this is on
// every stamped line's path.
func (f *stampFormat) floorDiv(x int64) int64 {
	var q int64
	switch f.unit {
	case 1:
		return x
	case 1e3:
		q = x / 1e3
	case 1e6:
		q = x / 1e6
	default: // 1e9, the only other unit a layout has
		q = x / 1e9
	}
	if x-q*f.unit < 0 {
		q--
	}
	return q
}

// stampInstant returns the instant, in Unix ns, of the stamp d units of f away from the entry
// timestamp ts, or false when d is out of bounds or the instant does not fit in an int64.
func (f *stampFormat) stampInstant(ts, d int64) (int64, bool) {
	if d > f.maxD || d < -f.maxD {
		return 0, false
	}
	q := f.floorDiv(ts) + d
	if q > f.maxQ || q < f.minQ {
		return 0, false
	}
	return q * f.unit, true
}

// appendStamp appends the stamp at Unix ns t in layout f.
func (f *stampFormat) appendStamp(dst []byte, t int64) []byte {
	start := len(dst)
	dst = append(dst, f.template...)
	b := dst[start:]
	tm := time.Unix(0, t).UTC()
	year, month, day := tm.Date()
	hour, minute, sec := tm.Clock()
	for _, it := range f.items {
		switch it.field {
		case stampYear:
			putDigits(b[it.pos:], year, 4)
		case stampMonth:
			putDigits(b[it.pos:], int(month), 2)
		case stampMonthName:
			copy(b[it.pos:], monthNames[month-1])
		case stampDay:
			putDigits(b[it.pos:], day, 2)
		case stampHour:
			putDigits(b[it.pos:], hour, 2)
		case stampMinute:
			putDigits(b[it.pos:], minute, 2)
		case stampSecond:
			putDigits(b[it.pos:], sec, 2)
		case stampFraction:
			putDigits(b[it.pos:], tm.Nanosecond()/int(pow10[9-it.n]), it.n)
		}
	}
	return dst
}

// putDigits writes v in exactly n decimal digits at b (0 <= v < 10^n).
func putDigits(b []byte, v, n int) {
	_ = b[n-1]
	for i := n - 1; i >= 0; i-- {
		b[i] = byte('0' + v%10)
		v /= 10
	}
}

// appendDigits appends v in exactly n decimal digits (0 <= v < 10^n).
func appendDigits(dst []byte, v, n int) []byte {
	var buf [9]byte
	putDigits(buf[:], v, n)
	return append(dst, buf[:n]...)
}

// stampRenderer renders stamps for a reader, keeping the last minute it rendered: the
// stamps of a block's lines are mostly in a few minutes, and within a minute only the
// seconds and the fraction change.
type stampRenderer struct {
	num    int
	minute int64
	buf    []byte
}

// appendStamp appends the stamp of layout num at Unix ns t.
func (r *stampRenderer) appendStamp(dst []byte, num int, t int64) []byte {
	f := &stampFormats[num-1]
	minute := floorDiv(t, int64(time.Minute))
	if r.num != num || r.minute != minute {
		r.buf = f.appendStamp(r.buf[:0], minute*int64(time.Minute))
		r.num, r.minute = num, minute
	}
	start := len(dst)
	dst = append(dst, r.buf...)
	within := int(t - minute*int64(time.Minute))
	sec := dst[start+f.secAt:]
	sec[0], sec[1] = byte('0'+within/1e10), byte('0'+within/1e9%10)
	// The divisors are constants in each case: no division instruction on this path.
	switch frac := dst[start+f.fracAt:]; f.fracN {
	case 3:
		putDigits(frac, within%1e9/1e6, 3)
	case 6:
		putDigits(frac, within%1e9/1e3, 6)
	case 9:
		putDigits(frac, within%1e9, 9)
	}
	return dst
}

// parseDigits reads n decimal digits at b[p:], or returns -1.
func parseDigits(b []byte, p, n int) int {
	v := 0
	for _, c := range b[p : p+n] {
		if c < '0' || c > '9' {
			return -1
		}
		v = v*10 + int(c-'0')
	}
	return v
}

// parseItems reads the fields of a stamp in layout f from b (f.width bytes) into v, checking
// the literals and each field's digits and range; v is indexed by stampField and keeps what it
// held for the fields the layout lacks.
func (f *stampFormat) parseItems(b []byte, v *[stampFraction + 1]int) bool {
	for _, it := range f.items {
		x := 0
		switch it.field {
		case stampLiteral:
			if b[it.pos] != it.lit {
				return false
			}
			continue
		case stampMonthName:
			x = -1
			for i, name := range monthNames {
				if string(b[it.pos:it.pos+3]) == name {
					x = i + 1
					break
				}
			}
		default:
			x = parseDigits(b, it.pos, it.n)
		}
		if x < 0 {
			return false
		}
		if it.field == stampMonthName {
			v[stampMonth] = x
		} else {
			v[it.field] = x
		}
	}
	return v[stampMonth] >= 1 && v[stampMonth] <= 12 && v[stampDay] >= 1 && v[stampHour] <= 23 &&
		v[stampMinute] <= 59 && v[stampSecond] <= 59
}

// parseTail reads the part of a stamp in layout f from the seconds on, from b (f.width
// bytes), and returns the nanoseconds it adds to the minute.
func (f *stampFormat) parseTail(b []byte) (int64, bool) {
	s1, s2 := b[f.secAt]-'0', b[f.secAt+1]-'0'
	if s1 > 5 || s2 > 9 {
		return 0, false
	}
	var frac int64
	for _, c := range b[f.fracAt : f.fracAt+f.fracN] {
		if c-'0' > 9 {
			return 0, false
		}
		frac = frac*10 + int64(c-'0')
	}
	for _, l := range f.tailLits {
		if b[l.pos] != l.lit {
			return 0, false
		}
	}
	return int64(s1*10+s2)*int64(time.Second) + frac*f.unit, true
}

// match reports whether line holds a stamp in layout f at off, within maxStampDistance of the
// entry timestamp ts, and returns the stamp's instant. year is ts's year, for layouts without
// one. Rendering the stamp back gives exactly line[off:off+f.width].
func (f *stampFormat) match(line []byte, off int, ts int64, year int, scratch *[64]byte) (int64, bool) {
	if off < 0 || len(line)-off < f.width {
		return 0, false
	}
	b := line[off : off+f.width]
	v := [stampFraction + 1]int{stampYear: year, stampMonth: 1, stampDay: 1}
	if !f.parseItems(b, &v) || v[stampYear] < 1678 || v[stampYear] > 2261 {
		return 0, false
	}
	frac := 0
	if f.fracN > 0 {
		frac = v[stampFraction] * int(pow10[9-f.fracN])
	}
	t := time.Date(v[stampYear], time.Month(v[stampMonth]), v[stampDay], v[stampHour], v[stampMinute], v[stampSecond], frac, time.UTC).UnixNano()
	if _, ok := f.distance(t, ts); !ok {
		return 0, false
	}
	// The parse is strict, but the proof is the rendering: an impossible date (30 February)
	// comes back as another.
	return t, bytes.Equal(f.appendStamp(scratch[:0], t), b)
}

// distance returns how many of f's units the stamp at t (a multiple of the unit) is from the
// entry timestamp ts, if it is within maxStampDistance and rebuilt exactly from it.
func (f *stampFormat) distance(t, ts int64) (int64, bool) {
	q := f.floorDiv(ts)
	d := f.floorDiv(t) - q
	if d > f.maxD || d < -f.maxD || q+d > f.maxQ || q+d < f.minQ {
		return 0, false
	}
	return d, (q+d)*f.unit == t
}

// stamper finds the stamps of one block's lines, as the writer elides them.
type stamper struct {
	day     int64 // the Unix day the anchors are for, or minInt64
	year    int
	anchors [anchors][]byte
	// The stamps last found, most recent first: a stream's lines have theirs in one place and
	// layout, or in a few (a service logging in two formats). Each one's bytes up to the
	// seconds, which fix the minute, were proven by rendering; a stamp with the same ones
	// starts the same minute.
	recent [4]recentStamp
	buf    [64]byte
}

type recentStamp struct {
	num, off int // layout number (0: unused) and offset in the line
	prefix   []byte
	minute   int64         // Unix ns
	render   stampRenderer // its own, so that stamps of several layouts do not evict each other
}

func (s *stamper) reset() {
	s.day = minInt64
	for i := range s.recent {
		s.recent[i].num = 0
	}
}

// byWidth lists each anchor's layouts, longest first: a stamp with a fraction also starts like
// one without, and the longest one that matches is taken.
var byWidth = func() [anchors][]int {
	var out [anchors][]int
	for i := range stampFormats {
		out[stampFormats[i].anchor] = append(out[stampFormats[i].anchor], i)
	}
	for a := range out {
		slices.SortStableFunc(out[a], func(x, y int) int { return stampFormats[y].width - stampFormats[x].width })
	}
	return out
}()

// find returns the layout number (1-based), offset and distance of the first stamp in line
// that it recognises, or 0.
func (s *stamper) find(line []byte, ts int64) (num, off int, d int64) {
	// A recent stamp's minute: only the seconds, the fraction and what follows them are left
	// to check, and no date to compute. The stamp may have moved (an address before it took
	// more digits).
	for pass := range 2 {
		for i := range s.recent {
			r := &s.recent[i]
			if r.num == 0 {
				break
			}
			f := &stampFormats[r.num-1]
			off := r.off
			if pass == 1 {
				if i >= 2 {
					break // a moved stamp is looked for in the two most recent layouts only
				}
				off = bytes.Index(line, r.prefix)
			} else if len(line)-off < f.width || !bytes.Equal(line[off:off+f.secAt], r.prefix) {
				continue
			}
			if off < 0 || len(line)-off < f.width {
				continue
			}
			if within, ok := f.parseTail(line[off : off+f.width]); ok {
				t := r.minute + within
				// Rendering it back, as the reader will, proves the stamp whatever this path
				// assumed; within a minute the renderer only writes the seconds and fraction.
				d, ok := f.distance(t, ts)
				if ok && bytes.Equal(r.render.appendStamp(s.buf[:0], r.num, t), line[off:off+f.width]) {
					num := r.num
					r.off = off
					s.promote(i)
					return num, off, d
				}
			}
		}
	}
	if day := floorDiv(ts, int64(24*time.Hour)); day != s.day {
		s.setDay(day, ts)
	}
	// A recent layout in another minute.
	for i := range s.recent {
		r := &s.recent[i]
		if r.num == 0 {
			break
		}
		if t, ok := stampFormats[r.num-1].match(line, r.off, ts, s.year, &s.buf); ok {
			return s.found(r.num, r.off, line, t, ts)
		}
	}
	for a := range anchors {
		at := -1
		if a == anchorKlog {
			if len(line) > 5 && bytes.IndexByte([]byte("IWEF"), line[0]) >= 0 && bytes.HasPrefix(line[1:], s.anchors[a]) {
				at = 1
			}
		} else {
			at = bytes.Index(line, s.anchors[a])
		}
		if at < 0 {
			continue
		}
		for _, i := range byWidth[a] {
			if t, ok := stampFormats[i].match(line, at, ts, s.year, &s.buf); ok {
				return s.found(i+1, at, line, t, ts)
			}
		}
	}
	return 0, 0, 0
}

// promote moves recent stamp i to the front.
func (s *stamper) promote(i int) {
	if i > 0 {
		r := s.recent[i]
		copy(s.recent[1:i+1], s.recent[:i])
		s.recent[0] = r
	}
}

// found records a stamp proven by rendering as the one to try first on the next line.
func (s *stamper) found(num, off int, line []byte, t, ts int64) (int, int, int64) {
	f := &stampFormats[num-1]
	i := 0 // the slot to reuse: this layout's at this offset, else the oldest
	for i < len(s.recent)-1 && s.recent[i].num != 0 && (s.recent[i].num != num || s.recent[i].off != off) {
		i++
	}
	r := &s.recent[i]
	r.num, r.off = num, off
	r.prefix = append(r.prefix[:0], line[off:off+f.secAt]...)
	r.minute = t - floorMod(t, int64(time.Minute))
	s.promote(i)
	d, _ := f.distance(t, ts)
	return num, off, d
}

func floorMod(a, b int64) int64 { return a - floorDiv(a, b)*b }

// setDay renders the anchors for the day of ts.
func (s *stamper) setDay(day, ts int64) {
	s.day = day
	tm := time.Unix(0, ts).UTC()
	s.year = tm.Year()
	for a := range s.anchors {
		s.anchors[a] = s.anchors[a][:0]
	}
	y, m, dd := tm.Date()
	iso := s.anchors[anchorISODate]
	iso = append(appendDigits(iso, y, 4), '-')
	iso = append(appendDigits(iso, int(m), 2), '-')
	s.anchors[anchorISODate] = appendDigits(iso, dd, 2)
	ng := append(appendDigits(s.anchors[anchorNginxDate], dd, 2), '/')
	ng = append(append(ng, monthNames[m-1]...), '/')
	s.anchors[anchorNginxDate] = appendDigits(ng, y, 4)
	sl := append(appendDigits(s.anchors[anchorSlashDate], y, 4), '/')
	sl = append(appendDigits(sl, int(m), 2), '/')
	s.anchors[anchorSlashDate] = appendDigits(sl, dd, 2)
	kl := appendDigits(s.anchors[anchorKlog], int(m), 2)
	s.anchors[anchorKlog] = append(appendDigits(kl, dd, 2), ' ')
}

// expandStamp appends line to dst with its stamp mark esc replaced by the stamp of layout
// num at distance d from the entry timestamp ts, rendered by r.
func expandStamp(dst, line []byte, esc byte, num int, d, ts int64, r *stampRenderer) ([]byte, error) {
	at := bytes.IndexByte(line, esc)
	if at < 0 {
		return dst, errors.New("stamped line holds no stamp mark")
	}
	dst = append(dst, line[:at]...)
	dst, err := appendStampAt(dst, num, d, ts, r)
	if err != nil {
		return dst, err
	}
	return append(dst, line[at+1:]...), nil
}

// appendStampAt appends the stamp of layout num d units away from the entry timestamp ts.
func appendStampAt(dst []byte, num int, d, ts int64, r *stampRenderer) ([]byte, error) {
	t, ok := stampFormats[num-1].stampInstant(ts, d)
	if !ok {
		return dst, fmt.Errorf("stamp %d units from %d out of range", d, ts)
	}
	return r.appendStamp(dst, num, t), nil
}

// stampSafeNeedle reports whether a search for needle in a stamped block's lines, marks and
// all, finds every line whose expanded form holds it. An occurrence in the expanded line that
// the search misses must overlap a stamp. Every layout starts with a digit and ends with a
// digit or Z, and the digit-free runs inside them are short separators; so a needle
// overlapping a stamp holds a digit (it covers the stamp's first digit, or its last one before
// a Z, or lies within it), or starts with the final Z, or lies in one of those runs. Needles
// with control bytes are refused as well: the mark is one.
func stampSafeNeedle(needle []byte) bool {
	if len(needle) == 0 || needle[0] == 'Z' {
		return false
	}
	for _, c := range needle {
		if c < 0x20 || (c >= '0' && c <= '9') {
			return false
		}
	}
	for _, run := range stampDigitFreeRuns {
		if bytes.Contains(run, needle) {
			return false
		}
	}
	return true
}

// stampDigitFreeRuns are the digit-free runs of every layout (stampRuns).
var stampDigitFreeRuns = func() [][]byte {
	var out [][]byte
	for i := range stampFormats {
		for _, run := range stampRuns(stampFormats[i].layout) {
			out = append(out, []byte(run))
		}
	}
	return out
}()

// stampRuns returns the digit-free runs a layout renders to, with "Mon" standing for every
// month name: e.g. "-", "T", "Z", "/Nov/".
func stampRuns(layout string) []string {
	var runs []string
	var cur []string
	flush := func() {
		runs = append(runs, cur...)
		cur = nil
	}
	for p := 0; p < len(layout); {
		switch {
		case hasPrefixAt(layout, p, "Mon"):
			next := make([]string, 0, 12*max(1, len(cur)))
			for _, m := range monthNames {
				if len(cur) == 0 {
					next = append(next, m)
				}
				for _, c := range cur {
					next = append(next, c+m)
				}
			}
			cur, p = next, p+3
		case hasPrefixAt(layout, p, "YYYY"):
			flush()
			p += 4
		case bytes.IndexByte([]byte("MDhmsf"), layout[p]) >= 0:
			flush()
			p++
		case layout[p] >= '0' && layout[p] <= '9':
			flush() // a digit literal (the "+0000" offsets)
			p++
		default:
			if len(cur) == 0 {
				cur = []string{""}
			}
			for i := range cur {
				cur[i] += layout[p : p+1]
			}
			p++
		}
	}
	flush()
	return runs
}
