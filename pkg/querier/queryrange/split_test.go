package queryrange

import (
	"fmt"
	"testing"
	"time"
)

func TestSplitLogs(t *testing.T) {
	h := int64(time.Hour)
	m := int64(time.Minute)
	for _, tc := range []struct {
		name       string
		start, end int64
		interval   time.Duration
		want       []span
	}{
		{"disabled", 10 * m, 5 * h, 0, []span{{10 * m, 5 * h}}},
		{"within one interval", 10 * m, 50 * m, time.Hour, []span{{10 * m, 50 * m}}},
		{"unaligned ends", 10 * m, 2*h + 5*m, time.Hour, []span{{10 * m, h}, {h, 2 * h}, {2 * h, 2*h + 5*m}}},
		{"aligned ends", h, 3 * h, time.Hour, []span{{h, 2 * h}, {2 * h, 3 * h}}},
		{"before 1970", -90 * m, 30 * m, time.Hour, []span{{-90 * m, -h}, {-h, 0}, {0, 30 * m}}},
		{"empty range", h, h, time.Hour, []span{{h, h}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := splitLogs(tc.start, tc.end, tc.interval)
			if fmt.Sprint(got) != fmt.Sprint(tc.want) {
				t.Errorf("splitLogs = %v, want %v", got, tc.want)
			}
		})
	}
}

func TestSplitMetric(t *testing.T) {
	h := int64(time.Hour)
	m := int64(time.Minute)
	for _, tc := range []struct {
		name       string
		start, end int64
		step       time.Duration
		interval   time.Duration
		want       []span
	}{
		{"disabled", 0, 3 * h, time.Minute, 0, []span{{0, 3 * h}}},
		{"step divides interval", 0, 3 * h, 30 * time.Minute, time.Hour,
			[]span{{0, 30 * m}, {h, h + 30*m}, {2 * h, 2*h + 30*m}, {3 * h, 3 * h}}},
		{"step does not divide interval", 0, 2 * h, 25 * time.Minute, time.Hour,
			// evaluation times 0,25,50 | 75,100 | 125 (2h = 120 is not a multiple of 25)
			[]span{{0, 50 * m}, {75 * m, 100 * m}}},
		{"step longer than interval", 0, 3 * h, 90 * time.Minute, time.Hour,
			[]span{{0, 0}, {90 * m, 90 * m}, {3 * h, 3 * h}}},
		{"single point", 2 * h, 2 * h, time.Minute, time.Hour, []span{{2 * h, 2 * h}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := splitMetric(tc.start, tc.end, tc.step, tc.interval)
			if fmt.Sprint(got) != fmt.Sprint(tc.want) {
				t.Errorf("splitMetric = %v, want %v", got, tc.want)
			}
		})
	}
}

// TestSplitMetricCoversEveryStepOnce checks the splitter's invariant over many shapes: the
// evaluation times of the spans are those of the whole query, each once, in order, and no
// span crosses an interval boundary.
func TestSplitMetricCoversEveryStepOnce(t *testing.T) {
	for _, step := range []time.Duration{time.Second, 7 * time.Second, time.Minute, 7 * time.Minute, 61 * time.Minute, 2 * time.Hour} {
		for _, interval := range []time.Duration{30 * time.Minute, time.Hour, 24 * time.Hour} {
			start := alignDown(int64(13*time.Minute+3*time.Second), int64(step))
			end := start + int64(26*time.Hour)
			spans := splitMetric(start, end, step, interval)
			var want, got []int64
			for ts := start; ts <= end; ts += int64(step) {
				want = append(want, ts)
			}
			for _, sp := range spans {
				if floorDiv(sp.start, int64(interval)) != floorDiv(sp.end, int64(interval)) {
					t.Errorf("step %s interval %s: span %v crosses a boundary", step, interval, sp)
				}
				for ts := sp.start; ts <= sp.end; ts += int64(step) {
					got = append(got, ts)
				}
			}
			if fmt.Sprint(got) != fmt.Sprint(want) {
				t.Errorf("step %s interval %s: times %d, want %d", step, interval, len(got), len(want))
			}
		}
	}
}

func TestAlign(t *testing.T) {
	for _, tc := range []struct{ t, step, down, up int64 }{
		{0, 10, 0, 0}, {5, 10, 0, 10}, {10, 10, 10, 10}, {-5, 10, -10, 0}, {-10, 10, -10, -10},
	} {
		if d, u := alignDown(tc.t, tc.step), alignUp(tc.t, tc.step); d != tc.down || u != tc.up {
			t.Errorf("align(%d, %d) = %d, %d; want %d, %d", tc.t, tc.step, d, u, tc.down, tc.up)
		}
	}
}
