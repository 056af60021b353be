package log_test

import (
	"strings"
	"testing"
	_ "time/tzdata" // the zone tests must not depend on the machine's zoneinfo

	"github.com/sluicelog/sluice/pkg/logql/log"
)

func TestLineFormat(t *testing.T) {
	// ts is the entry timestamp used by run: 2023-11-14T22:13:20Z.
	tests := []struct {
		tmpl, line, want string
	}{
		{`{{.query}} {{.duration}}`, `query="sum(rate(x[1m]))" duration=2.5s`, `sum(rate(x[1m])) 2.5s`},
		{`{{.app}}:{{.missing}}:`, `a=b`, `api::`},
		{`{{ .level | ToUpper }} {{ .level | upper }} {{ "AbC" | ToLower }} {{ lower "X" }}`, `level=warn`, `WARN WARN abc x`},
		{`{{ title "hello world-wide o'neil snake_case" }}`, ``, `Hello World-Wide O'Neil Snake_case`},
		{`{{ Replace "aaa" "a" "b" 2 }} {{ Trim "xax" "x" }} {{ TrimLeft "xax" "x" }} {{ TrimRight "xax" "x" }} {{ TrimPrefix "xa" "x" }} {{ TrimSuffix "ax" "x" }} {{ TrimSpace " a " }}`, ``, `bba a ax xa a a a`},
		{`{{ int "42" | add 1 }} {{ float64 "1.5" | addf 1 }}`, ``, `43 2.5`},
		{`{{ addf 1.1 2.2 }} {{ mulf 1.1 3 }} {{ subf 0.3 0.1 }} {{ divf 1 3 }}`, ``, `3.3 3.3 0.2 0.3333333333333333`},
		{`{{ trunc 2 "héllo" }} {{ substr 1 3 "héllo" }} {{ substr -1 2 "héllo" }} {{ alignLeft 3 "hé" }}|`, ``, `hé él hé hé |`},
		{`{{ trunc 5 "hello world" }}|{{ trunc -5 "hello world" }}|{{ trunc 50 "hi" }}`, ``, `hello|world|hi`},
		{`{{ substr 0 5 "hello world" }}|{{ substr 6 11 "hello world" }}|{{ substr 6 99 "hello world" }}`, ``, `hello|world|world`},
		{`{{ .name | replace "o" "0" }}`, `name=foo`, `f00`},
		{`{{ trim "  x  " }}|{{ trimAll "$" "$5.00$" }}|{{ trimPrefix "-" "-hello" }}|{{ trimSuffix "-" "hello-" }}|{{ trimSpace " y " }}`, ``, `x|5.00|hello|hello|y`},
		{`{{ indent 2 "a\nb" }}|{{ nindent 2 "a" }}`, ``, "  a\n  b|\n  a"},
		{`{{ repeat 3 "ab" }}`, ``, `ababab`},
		{`{{ contains "ell" "hello" }} {{ hasPrefix "he" "hello" }} {{ hasSuffix "lo" "hello" }} {{ contains "x" "hello" }}`, ``, `true true true false`},
		{`{{ regexReplaceAll "a(x*)b" "-ab-axxb-" "${1}W" }}`, ``, `-W-xxW-`},
		{`{{ regexReplaceAllLiteral "a(x*)b" "-ab-axxb-" "${1}" }}`, ``, `-${1}-${1}-`},
		{`{{ add 3 2 5 }} {{ sub 5 2 }} {{ mul 2 3 4 }} {{ div 10 3 }} {{ mod 10 3 }}`, ``, `10 3 24 3 1`},
		{`{{ add .a 1 }} {{ mul .a .a }}`, `a=7`, `8 49`},
		{`{{ addf 3.5 2 }} {{ subf 5 2.5 }} {{ mulf 2.5 2 }} {{ divf 10 4 }}`, ``, `5.5 2.5 5 2.5`},
		{`{{ max 1 3 2 }} {{ min 3 1 2 }} {{ maxf 1.5 2.5 }} {{ minf 1.5 2.5 }}`, ``, `3 1 2.5 1.5`},
		{`{{ ceil 123.001 }} {{ floor 123.9999 }} {{ round 123.555555 3 }}`, ``, `124 123 123.556`},
		{`{{ printf "%.2f" (divf .a 3) }}`, `a=10`, `3.33`},
		{`{{ toDate "2006-01-02" "2021-11-02" | date "02/01/2006" }}`, ``, `02/11/2021`},
		{`{{ toDateInZone "2006-01-02 15:04" "UTC" "2021-11-02 10:00" | unixEpoch }}`, ``, `1635847200`},
		{`{{ toDateInZone "2006-01-02 15:04" "Europe/Paris" "2021-11-02 11:00" | unixEpoch }}`, ``, `1635847200`},
		{`{{ .ts | unixToTime | unixEpochMillis }} {{ unixToTime "1635847200000" | unixEpoch }}`, `ts=1635847200`, `1635847200000 1635847200`},
		{`{{ __timestamp__ | date "2006-01-02T15:04:05Z07:00" }} {{ __timestamp__ | unixEpochNanos }}`, ``, `2023-11-14T22:13:20Z 1700000000000000000`},
		{`{{ __line__ | upper }}`, `a=b`, `A=B`},
		{`{{ default "-" .missing }} {{ default "-" .a }}`, `a=b`, `- b`},
		{`{{ count "a|b" "abcab" }}`, ``, `4`},
		{`{{ urlencode "a b&c" }} {{ urldecode "a+b%26c" }}`, ``, `a+b%26c a b&c`},
		{`{{ b64enc "hello" }} {{ b64dec "aGVsbG8=" }}`, ``, `aGVsbG8= hello`},
		{`{{ bytes "1KB" }} {{ duration "1m30s" }} {{ duration_seconds "250ms" }}`, ``, `1000 90 0.25`},
		{`{{ $x := fromJson "{\"a\":{\"b\":1}}" }}{{ $x.a.b }}`, ``, `1`},
		{`[{{ alignLeft 5 "ab" }}][{{ alignRight 5 "ab" }}][{{ alignLeft 2 "abcdef" }}][{{ alignRight 2 "abcdef" }}]`, ``, `[ab   ][   ab][ab][ef]`},
		{`{{ if eq .level "error" }}E{{ else }}-{{ end }}`, `level=error`, `E`},
	}
	for _, tt := range tests {
		t.Run(tt.tmpl, func(t *testing.T) {
			f, err := log.NewLineFormatter(tt.tmpl)
			if err != nil {
				t.Fatal(err)
			}
			out, res, _ := run(t, lbls("app", "api"), tt.line, log.NewLogfmtParser(false, false), f)
			if out != tt.want {
				t.Errorf("line_format %q on %q = %q, want %q", tt.tmpl, tt.line, out, tt.want)
			}
			if e := res.Labels().Get("__error__"); e != "" {
				t.Errorf("unexpected __error__=%s: %s", e, res.Labels().Get("__error_details__"))
			}
		})
	}
}

func TestLineFormatErrors(t *testing.T) {
	if _, err := log.NewLineFormatter("{{ .a "); err == nil {
		t.Error("bad template: want an error")
	}
	if _, err := log.NewLineFormatter("{{ nosuchfunc .a }}"); err == nil {
		t.Error("unknown function: want an error")
	}
	f, _ := log.NewLineFormatter(`{{ div 1 0 }}`)
	out, res, keep := run(t, lbls("app", "api"), "original", f)
	if !keep || out != "original" || res.Labels().Get("__error__") != "TemplateFormatErr" ||
		!strings.Contains(res.Labels().Get("__error_details__"), "error calling div: runtime error: integer divide by zero") {
		t.Errorf("got %q %s %v; want the original line with TemplateFormatErr", out, res, keep)
	}
	f, _ = log.NewLineFormatter(`{{ regexReplaceAll "(" "x" "y" }}`)
	if _, res, _ := run(t, lbls("app", "api"), "x", f); res.Labels().Get("__error__") != "TemplateFormatErr" {
		t.Errorf("bad regexp in template: labels %s, want TemplateFormatErr", res)
	}
}

func TestLabelFormat(t *testing.T) {
	stream := lbls("app", "api", "level", "info")
	tests := []struct {
		name string
		fmts []log.LabelFmt
		want string // result labels
	}{
		{"rename parsed", []log.LabelFmt{log.NewRenameLabelFmt("st", "status")}, `{app="api", level="info", st="200"}`},
		{"rename stream label", []log.LabelFmt{log.NewRenameLabelFmt("severity", "level")}, `{app="api", severity="info", status="200"}`},
		{"rename onto itself keeps nothing", []log.LabelFmt{log.NewRenameLabelFmt("status", "status")}, `{app="api", level="info"}`},
		{"rename missing is a no-op", []log.LabelFmt{log.NewRenameLabelFmt("x", "nope")}, `{app="api", level="info", status="200"}`},
		{"template", []log.LabelFmt{log.NewTemplateLabelFmt("foo", "{{.status}}-{{.app | upper}}")}, `{app="api", foo="200-API", level="info", status="200"}`},
		{"template overrides stream label", []log.LabelFmt{log.NewTemplateLabelFmt("level", "{{.level | upper}}")}, `{app="api", level="INFO", status="200"}`},
		{"both", []log.LabelFmt{log.NewRenameLabelFmt("code", "status"), log.NewTemplateLabelFmt("line", "{{ __line__ }}")}, `{app="api", code="200", level="info", line="status=200"}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f, err := log.NewLabelsFormatter(tt.fmts)
			if err != nil {
				t.Fatal(err)
			}
			_, res, _ := run(t, stream, "status=200", log.NewLogfmtParser(false, false), f)
			if res.String() != tt.want {
				t.Errorf("labels = %s, want %s", res, tt.want)
			}
		})
	}
	// Renamed and templated labels are parsed labels, as in Loki.
	f, _ := log.NewLabelsFormatter([]log.LabelFmt{log.NewRenameLabelFmt("severity", "level"), log.NewTemplateLabelFmt("app", "x")})
	_, res, _ := run(t, stream, "", f)
	if !res.Stream().IsEmpty() || res.Parsed().String() != `{app="x", severity="info"}` {
		t.Errorf("stream %s parsed %s; want {} and {app=\"x\", severity=\"info\"}", res.Stream(), res.Parsed())
	}
	if _, err := log.NewLabelsFormatter([]log.LabelFmt{log.NewTemplateLabelFmt("__error__", "x")}); err == nil {
		t.Error("formatting __error__: want an error")
	}

	if _, err := log.NewLabelsFormatter([]log.LabelFmt{log.NewRenameLabelFmt("a", "b"), log.NewTemplateLabelFmt("a", "x")}); err == nil {
		t.Error("same label twice: want an error")
	}
	if _, err := log.NewLabelsFormatter([]log.LabelFmt{log.NewTemplateLabelFmt("a", "{{")}); err == nil {
		t.Error("bad template: want an error")
	}
	f, _ = log.NewLabelsFormatter([]log.LabelFmt{log.NewTemplateLabelFmt("a", "{{ div 1 0 }}")})
	if _, res, _ := run(t, stream, "", f); res.Labels().Get("__error__") != "TemplateFormatErr" {
		t.Errorf("labels %s, want TemplateFormatErr", res)
	}
}
