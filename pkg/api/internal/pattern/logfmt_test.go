package pattern

import (
	"strings"
	"testing"

	"github.com/sluicelog/sluice/pkg/logfmt"
)

func TestLogfmtTokens(t *testing.T) {
	check := func(line string, want ...string) {
		t.Helper()
		var scratch []byte
		var sc logfmt.Scanner
		toks, ok := logfmtTokens(nil, &sc, &scratch, line, 80)
		if want == nil {
			if ok {
				t.Errorf("logfmtTokens(%q) = %q, want the line skipped", line, texts(toks))
			}
			return
		}
		if !ok || strings.Join(texts(toks), "|") != strings.Join(want, "|") {
			t.Errorf("logfmtTokens(%q) = %q ok=%v, want %q", line, texts(toks), ok, want)
		}
	}
	check(`level=info msg="job done" job_id=123 duration=12ms`, "level", "info", "msg", "job done", "job_id", "123", "duration", "12ms")
	// ts, t, time, timestamp and traceID (any case but t) always vary.
	check(`ts=2026-11-22T10:00:00Z t=1 TIME=x Timestamp=y traceid=abc T=kept`, "ts", Wildcard, "t", Wildcard, "TIME", Wildcard, "Timestamp", Wildcard, "traceid", Wildcard, "T", "kept")
	// A key without '=' and a key with '=' but no value both have an empty value.
	check(`level=info <REDACTED> msg= x=1`, "level", "info", "<REDACTED>", "", "msg", "", "x", "1")
	check(`msg="" a="x"b=2`, "msg", "", "a", "x", "b", "2")
	check(`msg="say \"hi\"\tnow \u00e9\ud83d\ude00\ud800x \/"`, "msg", "say \"hi\"\tnow é😀\uFFFDx /")
	check(`  spaced=out   `, "spaced", "out")
	check(`tſ=folded TIMESTAMP=x ts2=kept`, "tſ", Wildcard, "TIMESTAMP", Wildcard, "ts2", "kept")
	check(``, []string{}...)
	// What Loki's decoder rejects skips the line.
	check(`url=http://x/?a=b`)
	check(`a=b"c`)
	check(`=x`)
	check(`"quoted"=x`)
	check(`msg="unterminated`)
	check(`msg="bad \q escape"`)
	check("k\xff=v")
	var scratch []byte
	var sc logfmt.Scanner
	if _, ok := logfmtTokens(nil, &sc, &scratch, strings.Repeat("a=1 ", 41), 80); ok {
		t.Error("logfmtTokens of 82 tokens with max 80: ok, want the line skipped")
	}
}

func TestAppendLogfmt(t *testing.T) {
	check := func(want string, kv ...string) {
		t.Helper()
		toks := make([]token, len(kv))
		for i, s := range kv {
			toks[i] = token{text: s}
		}
		if got := string(appendLogfmt(nil, toks)); got != want {
			t.Errorf("appendLogfmt(%q) = %s, want %s", kv, got, want)
		}
	}
	check(`ts=<_> level=info msg="job done" empty= eq="a=b"`, "ts", Wildcard, "level", "info", "msg", "job done", "empty", "", "eq", "a=b")
	check(`msg="say \"hi\"\n\ttab\r\\ \u0001"`, "msg", "say \"hi\"\n\ttab\r\\ \x01")
	check("a=\"x\\ufffdy\" b=\"é\x7f\" c=null d=é", "a", "x\xffy", "b", "é\x7f", "c", "null", "d", "é")
}
