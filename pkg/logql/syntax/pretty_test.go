package syntax

import (
	"strings"
	"testing"
)

// Pretty keeps what fits in 100 characters on one line and breaks up the rest as Loki's
// formatter does. Each case also parses back to the same tree (assertRoundTrip).
func TestPretty(t *testing.T) {
	sel := `{namespace="shop-production", app="checkout-api", container="server"}`
	cases := []struct{ name, in, want string }{
		{"short query", `sum by(app)(rate({app="x"}|="a"[5m]))`, `sum by (app)(rate({app="x"} |= "a" [5m]))`},
		{"long selector alone", `{namespace="shop-production", app="checkout-api", container="server", pod="checkout-api-7d9f8b6c5d-x2x9q"}`,
			`{namespace="shop-production", app="checkout-api", container="server", pod="checkout-api-7d9f8b6c5d-x2x9q"}`},
		{"pipeline", sel + ` |= "error" != "timeout" | json | level="error" | line_format "{{.msg}}"`,
			sel + "\n" +
				`  |= "error" != "timeout"` + "\n" +
				`  | json` + "\n" +
				`  | level="error"` + "\n" +
				`  | line_format "{{.msg}}"`},
		{"line filters longer than a line", sel + ` |= "` + strings.Repeat("a", 40) + `" |= "` + strings.Repeat("b", 40) + `" |= "` + strings.Repeat("c", 40) + `"`,
			sel + "\n" +
				`  |= "` + strings.Repeat("a", 40) + `" |= "` + strings.Repeat("b", 40) + `"` + "\n" +
				`  |= "` + strings.Repeat("c", 40) + `"`},
		{"vector of range aggregation", `sum by (app, level) (count_over_time(` + sel + ` | json | level="error" [5m]))`,
			"sum by (app, level)(\n" +
				"  count_over_time(\n" +
				"    " + sel + " | json | level=\"error\" [5m]\n" +
				"  )\n" +
				")"},
		{"quantile with unwrap", `quantile_over_time(0.99, ` + sel + ` | logfmt | unwrap duration(took) | __error__="" [5m] offset 1h) by (path)`,
			"quantile_over_time(\n" +
				"  0.99,\n" +
				"  " + sel + " | logfmt\n" +
				"    | unwrap duration(took)\n" +
				"    | __error__=\"\" [5m] offset 1h\n" +
				") by (path)"},
		{"topk", `topk(10, sum by (path) (rate(` + sel + ` | json [1m])))`,
			"topk(\n" +
				"  10,\n" +
				"  sum by (path)(\n" +
				"    rate(" + sel + " | json [1m])\n" +
				"  )\n" +
				")"},
		{"binary operation", `sum(rate(` + sel + ` |= "error" [5m])) / on (app) group_left (team) sum(rate(` + sel + ` [5m])) > 0.1`,
			"  (\n" +
				"      sum(rate(" + sel + " |= \"error\" [5m]))\n" +
				"    / on (app) group_left (team)\n" +
				"      sum(rate(" + sel + " [5m]))\n" +
				"  )\n" +
				">\n" +
				"  0.1"},
		{"precedence kept", `(sum(rate(` + sel + ` [5m])) + sum(rate(` + sel + ` [1m]))) * 2`,
			"  (\n" +
				"      sum(rate(" + sel + " [5m]))\n" +
				"    +\n" +
				"      sum(rate(" + sel + " [1m]))\n" +
				"  )\n" +
				"*\n" +
				"  2"},
		{"label_replace", `label_replace(sum by (app) (rate(` + sel + ` [5m])), "service", "$1", "app", "(.*)-api")`,
			"label_replace(\n" +
				"  sum by (app)(rate(" + sel + " [5m])),\n" +
				"  \"service\",\n" +
				"  \"$1\",\n" +
				"  \"app\",\n" +
				"  \"(.*)-api\"\n" +
				")"},
	}
	for _, c := range cases {
		e, err := ParseExpr(c.in)
		if err != nil {
			t.Fatalf("%s: %v", c.name, err)
		}
		if got := Pretty(e); got != c.want {
			t.Errorf("%s: Pretty =\n%s\nwant\n%s", c.name, got, c.want)
		}
		assertRoundTrip(t, c.in, e)
	}
}
