package logcli

import (
	"fmt"
	"strconv"
	"strings"
	"time"
)

// ParseTime reads a --from, --to or --now value. It accepts RFC3339 with or without fractional
// seconds ("2021-01-19T10:00:00Z", "2021-01-19T10:00:00.5+01:00"), the same without a zone
// (taken in loc, as Loki's docs describe for --timezone), and Unix timestamps in seconds (with an
// optional fraction) or, past 10^12, in nanoseconds.
func ParseTime(s string, loc *time.Location) (time.Time, error) {
	if loc == nil {
		loc = time.Local
	}
	s = strings.TrimSpace(s)
	if t, err := time.Parse(time.RFC3339Nano, s); err == nil {
		return t, nil
	}
	for _, layout := range []string{"2006-01-02T15:04:05.999999999", "2006-01-02 15:04:05.999999999", "2006-01-02"} {
		if t, err := time.ParseInLocation(layout, s, loc); err == nil {
			return t, nil
		}
	}
	if n, err := strconv.ParseInt(s, 10, 64); err == nil {
		if n > 1e12 || n < -1e12 {
			return time.Unix(0, n), nil
		}
		return time.Unix(n, 0), nil
	}
	if f, err := strconv.ParseFloat(s, 64); err == nil {
		sec := int64(f)
		return time.Unix(sec, int64((f-float64(sec))*1e9)), nil
	}
	return time.Time{}, fmt.Errorf("unable to parse time %q: use RFC3339Nano (2021-01-19T10:00:00Z) or a Unix timestamp", s)
}

// LoadTimezone reads --timezone: "Local", "UTC" or an IANA zone name.
func LoadTimezone(name string) (*time.Location, error) {
	switch strings.ToLower(name) {
	case "", "local":
		return time.Local, nil
	case "utc":
		return time.UTC, nil
	}
	loc, err := time.LoadLocation(name)
	if err != nil {
		return nil, fmt.Errorf("unknown timezone %q: %w", name, err)
	}
	return loc, nil
}

// TimeRange resolves --since, --from and --to against now: the range is [from, to), from
// defaulting to now-since and to to now.
func TimeRange(now time.Time, since time.Duration, from, to string, loc *time.Location) (start, end time.Time, err error) {
	start, end = now.Add(-since), now
	if from != "" {
		if start, err = ParseTime(from, loc); err != nil {
			return start, end, fmt.Errorf("--from: %w", err)
		}
	}
	if to != "" {
		if end, err = ParseTime(to, loc); err != nil {
			return start, end, fmt.Errorf("--to: %w", err)
		}
	}
	if end.Before(start) {
		return start, end, fmt.Errorf("the start of the range (%s) is after its end (%s)", start.Format(time.RFC3339Nano), end.Format(time.RFC3339Nano))
	}
	return start, end, nil
}
