package log

import (
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"
)

// bytesUnits are the size suffixes Loki accepts in label values and bytes() conversions, in
// lower case: SI (k = 1000) and IEC (ki = 1024) multiples, with or without a trailing "b".
var bytesUnits = map[string]float64{
	"": 1, "b": 1,
	"k": 1e3, "kb": 1e3, "ki": 1 << 10, "kib": 1 << 10,
	"m": 1e6, "mb": 1e6, "mi": 1 << 20, "mib": 1 << 20,
	"g": 1e9, "gb": 1e9, "gi": 1 << 30, "gib": 1 << 30,
	"t": 1e12, "tb": 1e12, "ti": 1 << 40, "tib": 1 << 40,
	"p": 1e15, "pb": 1e15, "pi": 1 << 50, "pib": 1 << 50,
	"e": 1e18, "eb": 1e18, "ei": 1 << 60, "eib": 1 << 60,
}

// ParseBytes parses a human size such as "20MB", "1.5 KiB", "42" or "1,024 kb" into bytes,
// with the units of Loki (case-insensitive; kB = 1000, KiB = 1024).
func ParseBytes(s string) (uint64, error) {
	end := 0
	comma := false
	for end < len(s) {
		c := s[end]
		if c == ',' {
			comma = true
		} else if !(c >= '0' && c <= '9' || c == '.') {
			break
		}
		end++
	}
	num := s[:end]
	if comma {
		num = strings.ReplaceAll(num, ",", "")
	}
	f, err := strconv.ParseFloat(num, 64)
	if err != nil {
		return 0, err
	}
	unit := strings.ToLower(strings.TrimSpace(s[end:]))
	m, ok := bytesUnits[unit]
	if !ok {
		return 0, fmt.Errorf("unhandled size name: %v", unit)
	}
	f *= m
	if f >= math.MaxUint64 {
		return 0, fmt.Errorf("too large: %v", s)
	}
	return uint64(f), nil
}

// formatBytes writes b the way Loki prints bytes in a query: SI units without a space.
func formatBytes(b uint64) string {
	if b < 10 {
		return fmt.Sprintf("%dB", b)
	}
	units := []string{"B", "kB", "MB", "GB", "TB", "PB", "EB"}
	e := math.Floor(math.Log(float64(b)) / math.Log(1000))
	v := math.Floor(float64(b)/math.Pow(1000, e)*10+0.5) / 10
	format := "%.0f%s"
	if v < 10 {
		format = "%.1f%s"
	}
	return fmt.Sprintf(format, v, units[int(e)])
}

// parseDurationSeconds parses a Go duration ("1m30s", "250ms") into seconds.
func parseDurationSeconds(s string) (float64, error) {
	d, err := time.ParseDuration(s)
	if err != nil {
		return 0, err
	}
	return d.Seconds(), nil
}
