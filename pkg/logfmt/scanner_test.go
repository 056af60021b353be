package logfmt

import (
	"bytes"
	"errors"
	"strings"
	"testing"
)

// pairs scans line to its end or first error and returns "key=value" (or "key" for a nil
// value) for each pair, and the error.
func pairs(line string) ([]string, error) {
	var s Scanner
	s.Reset([]byte(line))
	var out []string
	for s.Next() {
		p := string(s.Key())
		if s.Value() != nil {
			p += "=" + string(s.Value())
		}
		out = append(out, p)
	}
	return out, s.Err()
}

func TestScanner(t *testing.T) {
	cases := []struct {
		line string
		want []string
		err  string // "" for none
	}{
		{`level=info msg="job done" n=3`, []string{"level=info", "msg=job done", "n=3"}, ""},
		{`bare key= x=""`, []string{"bare", "key", "x"}, ""}, // no value, empty value, empty quoted value
		{"  \ta=1\t\tb=2  ", []string{"a=1", "b=2"}, ""},
		{`a="x"b=2`, []string{"a=x", "b=2"}, ""},
		{`msg="say \"hi\" \/ \u00e9\ud83d\ude00"`, []string{"msg=say \"hi\" / é😀"}, ""},
		{`a=1 =x`, []string{"a=1"}, `logfmt syntax error at pos 5 : unexpected '='`},
		{`a=b"c`, nil, `logfmt syntax error at pos 4 : unexpected '"'`},
		{`a=b=c`, nil, `logfmt syntax error at pos 4 : unexpected '='`},
		{`"k"=v`, nil, `logfmt syntax error at pos 1 : unexpected '"'`},
		{`msg="open`, nil, `logfmt syntax error at pos 10 : unterminated quoted value`},
		{`msg="bad \q"`, nil, `logfmt syntax error at pos 13 : invalid quoted value`},
		{"k\xff=v", nil, `logfmt syntax error at pos 3 : invalid key`},
	}
	for _, c := range cases {
		got, err := pairs(c.line)
		if strings.Join(got, "|") != strings.Join(c.want, "|") {
			t.Errorf("%q: pairs %q, want %q", c.line, got, c.want)
		}
		var se *SyntaxError
		switch {
		case c.err == "" && err != nil:
			t.Errorf("%q: error %v, want none", c.line, err)
		case c.err != "" && (err == nil || err.Error() != c.err || !errors.As(err, &se)):
			t.Errorf("%q: error %v, want %q", c.line, err, c.err)
		}
	}
}

// TestSkipToken: after an error a lenient reader skips the bad token and reads on.
func TestSkipToken(t *testing.T) {
	var s Scanner
	s.Reset([]byte(`a=1 b"=2 c=3`))
	var got []string
	for {
		if !s.Next() {
			if s.Err() == nil {
				break
			}
			s.SkipToken()
			continue
		}
		got = append(got, string(s.Key())+"="+string(s.Value()))
	}
	if strings.Join(got, " ") != "a=1 c=3" {
		t.Errorf("lenient scan = %q, want [a=1 c=3]", got)
	}
}

// TestUnescapedValueLivesInBuffer: a value with escapes is decoded into the scanner's buffer
// and marked so; one without aliases the line.
func TestUnescapedValueLivesInBuffer(t *testing.T) {
	line := []byte(`a="x\ty" b="plain"`)
	var s Scanner
	s.Reset(line)
	if !s.Next() || !s.Unescaped() || string(s.Value()) != "x\ty" {
		t.Fatalf("first pair: %q unescaped=%v", s.Value(), s.Unescaped())
	}
	if !s.Next() || s.Unescaped() || &s.Value()[0] != &line[12] {
		t.Fatalf("second pair: %q unescaped=%v, want an alias of the line", s.Value(), s.Unescaped())
	}
}

func FuzzScanner(f *testing.F) {
	for _, l := range []string{`level=info msg="a \"b\"" x`, `a=b"c`, `=`, `k="\ud800\u0041"`, "k\xff=v", `a="`} {
		f.Add(l)
	}
	f.Fuzz(func(t *testing.T, line string) {
		var s Scanner
		s.Reset([]byte(line))
		for n := 0; s.Next(); n++ {
			if n > len(line) {
				t.Fatal("more pairs than bytes")
			}
			k := s.Key()
			if len(k) == 0 || bytes.ContainsAny(k, "=\" \t\n") {
				t.Fatalf("key %q", k)
			}
		}
		if err := s.Err(); err != nil {
			var se *SyntaxError
			if !errors.As(err, &se) || se.Pos < 1 || se.Pos > len(line)+1 {
				t.Fatalf("error %v", err)
			}
		}
	})
}

// A line that is not logfmt costs no allocation until its error is asked for: level detection
// and `| logfmt` try every line, and most only need to know that it failed.
func TestFailedDoesNotAllocate(t *testing.T) {
	var s Scanner
	for _, line := range []string{`GET /cart?page=2 "Mozilla/5.0"`, `a="open`, `=x`} {
		b := []byte(line)
		allocs := testing.AllocsPerRun(100, func() {
			s.Reset(b)
			for s.Next() {
			}
			if !s.Failed() {
				t.Fatalf("%q: no syntax error", line)
			}
		})
		if allocs != 0 {
			t.Errorf("%q: %v allocations per scan, want 0", line, allocs)
		}
		if s.Err() == nil {
			t.Errorf("%q: Failed, but Err is nil", line)
		}
	}
}
