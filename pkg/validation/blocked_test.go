package validation

import (
	"strings"
	"testing"
)

// TestBlockedQueryBlocks: each way a blocked_queries entry matches, and each way it does not.
func TestBlockedQueryBlocks(t *testing.T) {
	const metric = `sum(rate({env="prod"}[1m]))`
	grafana := map[string]string{"source": "grafana"}
	for _, c := range []struct {
		name  string
		b     BlockedQuery
		query string
		typ   string
		tags  map[string]string
		want  bool
	}{
		{"exact", BlockedQuery{Pattern: metric}, metric, QueryTypeMetric, nil, true},
		{"exact, spaces around", BlockedQuery{Pattern: "  " + metric + "\n"}, " " + metric, QueryTypeMetric, nil, true},
		{"exact is not a substring", BlockedQuery{Pattern: `{env="prod"}`}, metric, QueryTypeMetric, nil, false},
		{"regex anywhere", BlockedQuery{Pattern: `prod`, Regex: true}, metric, QueryTypeMetric, nil, true},
		{"regex no match", BlockedQuery{Pattern: `.*dev.*`, Regex: true}, metric, QueryTypeMetric, nil, false},
		{"no pattern: every query", BlockedQuery{Types: "metric"}, metric, QueryTypeMetric, nil, true},
		{"type not listed", BlockedQuery{Types: "filter, limited"}, metric, QueryTypeMetric, nil, false},
		{"type listed", BlockedQuery{Pattern: `.*prod.*`, Regex: true, Types: "filter,limited"}, `{env="prod"} |= "x"`, QueryTypeFilter, nil, true},
		// Loki's documented example: the hash of {stream="stdout",pod="loki-canary-9w49x"}.
		{"hash", BlockedQuery{Hash: 2943214005}, `{stream="stdout",pod="loki-canary-9w49x"}`, QueryTypeLimited, nil, true},
		{"hash wins over pattern", BlockedQuery{Hash: 2943214005, Pattern: metric}, metric, QueryTypeMetric, nil, false},
		{"tags match in any case", BlockedQuery{QueryTags: map[string]string{"Source": "Grafana"}}, metric, QueryTypeMetric, grafana, true},
		{"tags missing", BlockedQuery{QueryTags: map[string]string{"source": "grafana"}}, metric, QueryTypeMetric, nil, false},
		{"tags differ", BlockedQuery{QueryTags: map[string]string{"source": "logcli"}}, metric, QueryTypeMetric, grafana, false},
	} {
		if got := c.b.Blocks(c.query, c.typ, c.tags); got != c.want {
			t.Errorf("%s: Blocks(%q, %s, %v) = %v, want %v", c.name, c.query, c.typ, c.tags, got, c.want)
		}
	}
}

func TestParseQueryTags(t *testing.T) {
	got := ParseQueryTags(" Source=Grafana , user = Ann,broken,=x")
	if len(got) != 2 || got["source"] != "grafana" || got["user"] != "ann" {
		t.Fatalf("ParseQueryTags = %v", got)
	}
	if ParseQueryTags("") != nil {
		t.Fatal("no header: want no tags")
	}
}

// TestBlockedQueryValidate: a rule that could never match as meant is refused by name.
func TestBlockedQueryValidate(t *testing.T) {
	err := validateBlocked([]BlockedQuery{{Pattern: "ok"}, {Types: "metric,logs"}, {Pattern: "(", Regex: true}})
	if err == nil || !strings.Contains(err.Error(), `limits_config.blocked_queries[1].types: "logs" is not one of metric, filter, limited`) ||
		!strings.Contains(err.Error(), "limits_config.blocked_queries[2].pattern: error parsing regexp") {
		t.Fatalf("err = %v", err)
	}
	if err := validateBlocked([]BlockedQuery{{Pattern: "(", Regex: true, Hash: 1}, {Pattern: "("}}); err != nil {
		t.Fatalf("a pattern that is not used as a regexp: %v", err)
	}
}
