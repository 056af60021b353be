package jsonscan

import (
	"encoding/json"
	"testing"
)

func TestString(t *testing.T) {
	cases := []struct {
		in      string
		raw     string
		end     int
		escaped bool
		ok      bool
	}{
		{`"abc",`, "abc", 5, false, true},
		{`""`, "", 2, false, true},
		{`"a\"b"x`, `a\"b`, 6, true, true},
		{`"a\\"x`, `a\\`, 5, true, true},      // an even run of backslashes does not escape the quote
		{`"a\\\"b"`, `a\\\"b`, 8, true, true}, // an odd one does
		{`"\\\\"`, `\\\\`, 6, true, true},
		{`"abc`, "", 4, false, false},
		{`"a\"`, "", 4, false, false},
		{`abc`, "", 0, false, false},
	}
	for _, c := range cases {
		raw, end, escaped, ok := String(c.in, 0)
		if raw != c.raw || end != c.end || escaped != c.escaped || ok != c.ok {
			t.Errorf("String(%q) = %q, %d, %v, %v; want %q, %d, %v, %v", c.in, raw, end, escaped, ok, c.raw, c.end, c.escaped, c.ok)
		}
	}
}

func TestSkip(t *testing.T) {
	cases := []struct {
		in  string
		end int
		ok  bool
	}{
		{`123,`, 3, true},
		{`true}`, 4, true},
		{`null`, 4, true},
		{`-1.5e3 `, 6, true},
		{`"x}"`, 4, true},
		{`{"a":{"b":[1,"]}",{}]}},`, 23, true}, // brackets inside strings do not count
		{`[1,[2,[3]]]x`, 11, true},
		{`{"a":1`, 6, false},
		{`{"a":"}`, 7, false},
		{`,`, 0, false}, // an empty scalar
		{``, 0, false},
	}
	for _, c := range cases {
		end, ok := Skip(c.in, 0)
		if end != c.end || ok != c.ok {
			t.Errorf("Skip(%q) = %d, %v; want %d, %v", c.in, end, ok, c.end, c.ok)
		}
	}
}

func TestSpace(t *testing.T) {
	if got := Space(" \t\r\n x", 0); got != 5 {
		t.Errorf("Space = %d, want 5", got)
	}
	if got := Space("  ", 1); got != 2 {
		t.Errorf("Space at the end = %d, want 2", got)
	}
}

// FuzzString: for any string, its JSON encoding is read back whole by String and Skip, and
// Unescape gives the string again.
func FuzzString(f *testing.F) {
	for _, s := range []string{"", "plain", `quote " and \ backslash`, "tab\tnewline\n", "\u00e9\u2028", "\\\"\\"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		b, err := json.Marshal(s)
		if err != nil {
			t.Fatal(err) // json.Marshal never fails on a string
		}
		enc := string(b) + ",1"
		raw, end, _, ok := String(enc, 0)
		if !ok || end != len(b) {
			t.Fatalf("String(%s) = %q, %d, %v; want the whole %d bytes", b, raw, end, ok, len(b))
		}
		if e, ok := Skip(enc, 0); !ok || e != len(b) {
			t.Fatalf("Skip(%s) = %d, %v; want %d", b, e, ok, len(b))
		}
		var want string
		if err := json.Unmarshal(b, &want); err != nil {
			t.Fatal(err)
		}
		if got, ok := Unescape(raw); !ok || got != want {
			t.Fatalf("Unescape(%q) = %q, %v; want %q", raw, got, ok, want)
		}
	})
}
