package logql

import (
	"strings"
	"testing"

	"github.com/sluicelog/sluice/pkg/logql/syntax"
)

// TestLineNeedle checks the string the engine gives the stores as a prefilter: the longest
// literal every accepted line must hold, and nothing when no single literal is required.
// For each query it also checks, on a set of lines, that the needle is sound: every line the
// leading filters accept contains it.
func TestLineNeedle(t *testing.T) {
	lines := []string{
		"level=error msg=\"upstream timeout\" err=OutOfMemoryError",
		"level=ERROR msg=\"Upstream Timeout\"",
		"GET /api/v1/orders 200 0.012",
		"java.lang.OutOfMemoryError: Java heap space",
		"error: connection reset; timeout after 30s",
		"warn: disk 91% full",
		"",
	}
	for _, tt := range []struct {
		query, needle string
	}{
		{`{app="a"}`, ""},
		{`{app="a"} |= "OutOfMemoryError"`, "OutOfMemoryError"},
		{`{app="a"} |= "error" |= "timeout"`, "timeout"},
		{`{app="a"} |= "error" != "timeout"`, "error"},
		{`{app="a"} |= ""`, ""},
		{`{app="a"} |= "error" or "warn"`, ""},
		{`{app="a"} != "error"`, ""},
		{`{app="a"} |~ "OutOfMemory"`, "OutOfMemory"},
		{`{app="a"} |~ "error.*timeout after"`, "timeout after"},
		{`{app="a"} |~ "(error).*(timeout)"`, "timeout"},
		{`{app="a"} |~ "(?i)timeout"`, ""},
		{`{app="a"} |~ "error|warn"`, ""},
		{`{app="a"} |~ "(timeout)?x"`, "x"},
		{`{app="a"} |~ "[eE]rror"`, "rror"},
		{`{app="a"} |> "<_> timeout <_>"`, ""},
		{`{app="a"} |= ip("10.0.0.1")`, ""},
		{`{app="a"} |= "error" | logfmt |= "timeout after"`, "error"}, // only leading filters are pushed down
	} {
		sel, err := syntax.ParseLogSelector(tt.query)
		if err != nil {
			t.Fatalf("%s: %v", tt.query, err)
		}
		filter, needle, err := lineFilterFunc(sel)
		if err != nil {
			t.Fatalf("%s: %v", tt.query, err)
		}
		if string(needle) != tt.needle || (needle == nil) != (tt.needle == "") {
			t.Errorf("%s: needle %q, want %q", tt.query, needle, tt.needle)
		}
		if filter == nil || needle == nil {
			continue
		}
		for _, l := range lines {
			if filter([]byte(l)) && !strings.Contains(l, string(needle)) {
				t.Errorf("%s: the filter accepts %q, which lacks the needle %q", tt.query, l, needle)
			}
		}
	}
}
