package syntax

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// FuzzParse checks that the parser never panics and that the canonical form of any accepted
// query parses back to an equal tree.
func FuzzParse(f *testing.F) {
	seeds, _ := filepath.Glob("testdata/*.logql")
	for _, s := range seeds {
		b, err := os.ReadFile(s)
		if err != nil {
			f.Fatal(err)
		}
		for _, q := range strings.Split(string(b), "\n") {
			if q = strings.TrimSpace(q); q != "" {
				f.Add(q)
			}
		}
	}
	f.Fuzz(func(t *testing.T, q string) {
		e, err := ParseExpr(q)
		if err != nil {
			if _, ok := err.(*ParseError); !ok {
				t.Fatalf("ParseExpr(%q) error of type %T: %v", q, err, err)
			}
			return
		}
		assertRoundTrip(t, q, e)
	})
}
