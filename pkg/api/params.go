package api

import (
	"fmt"
	"math"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/sluicelog/sluice/pkg/flagext"
	"github.com/sluicelog/sluice/pkg/logproto"
)

// paramError is a bad request parameter: HTTP 400 with its message.
type paramError struct{ msg string }

func (e *paramError) Error() string { return e.msg }

func badParam(format string, args ...any) error { return &paramError{fmt.Sprintf(format, args...)} }

// parseTime reads a timestamp in any form Loki accepts: Unix seconds with a fraction
// ("1700000000.5"), Unix seconds (up to 10 digits) or nanoseconds as an integer, or RFC3339Nano.
func parseTime(name, value string, def time.Time) (time.Time, error) {
	if value == "" {
		return def, nil
	}
	if strings.Contains(value, ".") {
		if f, err := strconv.ParseFloat(value, 64); err == nil {
			secs, frac := math.Modf(f)
			return time.Unix(int64(secs), int64(math.Round(frac*1e9/1e3)*1e3)), nil
		}
	}
	n, err := strconv.ParseInt(value, 10, 64)
	if err != nil {
		if t, terr := time.Parse(time.RFC3339Nano, value); terr == nil {
			return t, nil
		}
		return time.Time{}, badParam("could not parse '%s' parameter: %q is not a Unix timestamp or RFC3339 time", name, value)
	}
	if len(strings.TrimPrefix(value, "-")) <= 10 {
		return time.Unix(n, 0), nil
	}
	return time.Unix(0, n), nil
}

// parseDurationOrSeconds reads a step or interval: a duration ("15s", "1m") or float seconds.
func parseDurationOrSeconds(name, value string) (time.Duration, error) {
	if d, err := strconv.ParseFloat(value, 64); err == nil {
		if d <= 0 || math.IsNaN(d) || math.IsInf(d, 0) {
			return 0, badParam("invalid %s %q: must be positive", name, value)
		}
		return time.Duration(d * float64(time.Second)), nil
	}
	d, err := flagext.ParseDuration(value)
	if err != nil {
		return 0, badParam("could not parse '%s' parameter: %q is not a duration or number of seconds", name, value)
	}
	if d <= 0 {
		return 0, badParam("invalid %s %q: must be positive", name, value)
	}
	return d, nil
}

func parseDirection(value string) (logproto.Direction, error) {
	switch strings.ToLower(value) {
	case "", "backward":
		return logproto.Backward, nil
	case "forward":
		return logproto.Forward, nil
	}
	return 0, badParam("invalid direction %q: must be forward or backward", value)
}

func parseLimit(value string, def int) (int, error) {
	if value == "" {
		return def, nil
	}
	n, err := strconv.Atoi(value)
	if err != nil {
		return 0, badParam("could not parse 'limit' parameter: %q is not an integer", value)
	}
	if n < 0 {
		return 0, badParam("limit must be a positive value")
	}
	return n, nil
}

// timeRange reads start, end and since as Loki does: end defaults to now, start to end - since
// (since defaulting to 1h).
func timeRange(r *http.Request, now time.Time) (start, end time.Time, err error) {
	end, err = parseTime("end", r.Form.Get("end"), now)
	if err != nil {
		return
	}
	since := time.Hour
	if s := r.Form.Get("since"); s != "" {
		if since, err = flagext.ParseDuration(s); err != nil {
			return start, end, badParam("could not parse 'since' parameter: %q is not a duration", s)
		}
	}
	start, err = parseTime("start", r.Form.Get("start"), end.Add(-since))
	if err != nil {
		return
	}
	if end.Before(start) {
		return start, end, badParam("end timestamp must not be before or equal to start time")
	}
	return start, end, nil
}

// defaultStep is Loki's default step for a range: (end - start) / 250, at least one second.
func defaultStep(start, end time.Time) time.Duration {
	return time.Duration(math.Max(math.Floor(end.Sub(start).Seconds()/250), 1)) * time.Second
}
