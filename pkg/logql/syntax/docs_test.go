package syntax

import (
	"os"
	"strings"
	"testing"
)

// TestDocsExamples parses queries from Loki's LogQL documentation and checks that their
// canonical form round-trips.
func TestDocsExamples(t *testing.T) {
	b, err := os.ReadFile("testdata/docs_examples.logql")
	if err != nil {
		t.Fatal(err)
	}
	for _, q := range strings.Split(string(b), "\n") {
		if q = strings.TrimSpace(q); q == "" {
			continue
		}
		e, err := ParseExpr(q)
		if err != nil {
			t.Errorf("ParseExpr(%q): %v", q, err)
			continue
		}
		assertRoundTrip(t, q, e)
	}
	// The docs: "and" binds tighter than "or", and "," is "and".
	for _, q := range []string{
		`{app="foo"} | logfmt | duration >= 20ms or method="GET" and size <= 20KB`,
		`{app="foo"} | logfmt | duration >= 20ms or method="GET" , size <= 20KB`,
	} {
		e, err := ParseExpr(q)
		if err != nil {
			t.Fatal(err)
		}
		if got, want := e.String(), `{app="foo"} | logfmt | ( duration>=20ms or ( method="GET" , size<=20000B ) )`; got != want {
			t.Errorf("ParseExpr(%q) = %s, want %s", q, got, want)
		}
	}
}
