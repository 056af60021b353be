package syntax

import (
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"
)

var durationUnits = []struct {
	name string
	d    time.Duration
}{
	// Longest names first so "ms" is not read as "m" followed by "s".
	{"ns", time.Nanosecond}, {"us", time.Microsecond}, {"µs", time.Microsecond},
	{"ms", time.Millisecond}, {"s", time.Second}, {"m", time.Minute}, {"h", time.Hour},
	{"d", 24 * time.Hour}, {"w", 7 * 24 * time.Hour}, {"y", 365 * 24 * time.Hour},
}

// ParseDuration reads a LogQL duration: one or more number-unit pairs such as 5m, 1h30m, 1.5s,
// 100ms, 1d or 2w. Units are ns, us, µs, ms, s, m, h, d (24h), w (7d) and y (365d).
func ParseDuration(s string) (time.Duration, error) {
	if s == "" {
		return 0, errors.New("empty duration")
	}
	orig := s
	var total float64
	for s != "" {
		n := 0
		for n < len(s) && (isDigit(s[n]) || s[n] == '.') {
			n++
		}
		if n == 0 {
			return 0, fmt.Errorf("invalid duration %q", orig)
		}
		v, err := strconv.ParseFloat(s[:n], 64)
		if err != nil {
			return 0, fmt.Errorf("invalid duration %q", orig)
		}
		s = s[n:]
		var unit time.Duration
		best := 0
		for _, u := range durationUnits {
			if strings.HasPrefix(s, u.name) && len(u.name) > best {
				// "m" must not swallow the "m" of "ms".
				unit, best = u.d, len(u.name)
			}
		}
		if best == 0 {
			return 0, fmt.Errorf("invalid duration %q: missing unit", orig)
		}
		s = s[best:]
		total += v * float64(unit)
	}
	if total > math.MaxInt64 {
		return 0, fmt.Errorf("duration %q out of range", orig)
	}
	return time.Duration(total), nil
}

// FormatDuration prints d in the canonical form ParseDuration reads: the largest units first
// (1w2d3h4m5s6ms); a value that is not a whole number of milliseconds falls back to Go's form.
func FormatDuration(d time.Duration) string {
	if d == 0 {
		return "0s"
	}
	if d < 0 {
		return "-" + FormatDuration(-d)
	}
	if d%time.Millisecond != 0 {
		return d.String()
	}
	var sb strings.Builder
	for _, u := range []struct {
		name string
		d    time.Duration
	}{{"y", 365 * 24 * time.Hour}, {"w", 7 * 24 * time.Hour}, {"d", 24 * time.Hour}, {"h", time.Hour},
		{"m", time.Minute}, {"s", time.Second}, {"ms", time.Millisecond}} {
		if n := d / u.d; n > 0 {
			sb.WriteString(strconv.FormatInt(int64(n), 10))
			sb.WriteString(u.name)
			d -= n * u.d
		}
	}
	return sb.String()
}

var byteUnits = map[string]float64{
	"b": 1, "kb": 1e3, "mb": 1e6, "gb": 1e9, "tb": 1e12, "pb": 1e15, "eb": 1e18,
	"kib": 1 << 10, "mib": 1 << 20, "gib": 1 << 30, "tib": 1 << 40, "pib": 1 << 50, "eib": 1 << 60,
	"k": 1e3, "m": 1e6, "g": 1e9, "t": 1e12, "p": 1e15, "e": 1e18,
	"ki": 1 << 10, "mi": 1 << 20, "gi": 1 << 30, "ti": 1 << 40, "pi": 1 << 50, "ei": 1 << 60,
}

// ParseBytes reads a byte size such as 10KB, 1.5MiB or 512B (units are case-insensitive;
// KB is 1000 bytes and KiB 1024, as in Loki).
func ParseBytes(s string) (uint64, error) {
	n := 0
	for n < len(s) && (isDigit(s[n]) || s[n] == '.') {
		n++
	}
	if n == 0 || n == len(s) {
		return 0, fmt.Errorf("invalid byte size %q", s)
	}
	v, err := strconv.ParseFloat(s[:n], 64)
	if err != nil {
		return 0, fmt.Errorf("invalid byte size %q", s)
	}
	mult, ok := byteUnits[strings.ToLower(strings.TrimSpace(s[n:]))]
	if !ok {
		return 0, fmt.Errorf("invalid byte size %q: unknown unit", s)
	}
	f := v * mult
	if f >= math.MaxUint64 {
		return 0, fmt.Errorf("byte size %q out of range", s)
	}
	return uint64(f), nil
}

// formatFloat prints a number so that it reads back as the same float64.
func formatFloat(v float64) string {
	switch {
	case math.IsInf(v, 1):
		return "+Inf"
	case math.IsInf(v, -1):
		return "-Inf"
	case math.IsNaN(v):
		return "NaN"
	}
	return strconv.FormatFloat(v, 'f', -1, 64)
}
