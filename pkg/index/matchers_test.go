package index_test

import (
	"context"
	"slices"
	"testing"

	"github.com/prometheus/prometheus/model/labels"

	"github.com/sluicelog/sluice/pkg/index"
)

// TestMatchers checks Loki's matcher semantics, including matchers that match the empty string
// and so also select series without the label.
func TestMatchers(t *testing.T) {
	t.Run("labels", func(t *testing.T) { testMatchers(t, index.Options{NoSync: true}) })
	postings := index.Options{NoSync: true}
	index.SetAlwaysReadPostingsForTest(&postings)
	t.Run("postings", func(t *testing.T) { testMatchers(t, postings) })
}

func testMatchers(t *testing.T, opts index.Options) {
	ix := openIndex(t, t.TempDir(), opts)
	all := []labels.Labels{
		labels.FromStrings("app", "api", "env", "prod", "pod", "api-1"),
		labels.FromStrings("app", "api", "env", "dev", "pod", "api-2"),
		labels.FromStrings("app", "web", "env", "prod"),
		labels.FromStrings("app", "web", "pod", "web-1", "team", "Core"),
		labels.FromStrings("job", "cron"),
	}
	for i, ls := range all {
		mustAdd(t, ix, ls, ref(day0+int64(i)*minute, day0+int64(i)*minute+10, uint32(i)))
	}
	str := func(idx ...int) []string {
		var out []string
		for _, i := range idx {
			out = append(out, all[i].String())
		}
		slices.Sort(out)
		return out
	}
	E, NE, RE, NRE := labels.MatchEqual, labels.MatchNotEqual, labels.MatchRegexp, labels.MatchNotRegexp
	cases := []struct {
		name string
		ms   []*labels.Matcher
		want []string
	}{
		{"no matchers", nil, str(0, 1, 2, 3, 4)},
		{"equal", []*labels.Matcher{m(t, E, "app", "api")}, str(0, 1)},
		{"equal missing value", []*labels.Matcher{m(t, E, "app", "nope")}, nil},
		{"equal missing name", []*labels.Matcher{m(t, E, "nope", "x")}, nil},
		{"equal empty selects series without label", []*labels.Matcher{m(t, E, "env", "")}, str(3, 4)},
		{"equal empty unknown name selects all", []*labels.Matcher{m(t, E, "nope", "")}, str(0, 1, 2, 3, 4)},
		{"not equal includes series without label", []*labels.Matcher{m(t, NE, "env", "prod")}, str(1, 3, 4)},
		{"not equal empty requires label", []*labels.Matcher{m(t, NE, "pod", "")}, str(0, 1, 3)},
		{"regexp set", []*labels.Matcher{m(t, RE, "app", "api|web")}, str(0, 1, 2, 3)},
		{"regexp prefix", []*labels.Matcher{m(t, RE, "pod", "api-.*")}, str(0, 1)},
		{"regexp anchored", []*labels.Matcher{m(t, RE, "pod", "pi-1")}, nil},
		{"regexp any nonempty", []*labels.Matcher{m(t, RE, "pod", ".+")}, str(0, 1, 3)},
		{"regexp any matches missing", []*labels.Matcher{m(t, RE, "pod", ".*")}, str(0, 1, 2, 3, 4)},
		{"regexp optional", []*labels.Matcher{m(t, RE, "env", "prod|")}, str(0, 2, 3, 4)},
		{"regexp case-insensitive", []*labels.Matcher{m(t, RE, "team", "(?i)core")}, str(3)},
		{"not regexp", []*labels.Matcher{m(t, NRE, "app", "a.*")}, str(2, 3, 4)},
		{"not regexp empty requires label", []*labels.Matcher{m(t, NRE, "pod", "")}, str(0, 1, 3)},
		{"not regexp any nonempty selects series without label", []*labels.Matcher{m(t, NRE, "pod", ".+")}, str(2, 4)},
		{"not regexp any selects nothing", []*labels.Matcher{m(t, NRE, "pod", ".*")}, nil},
		{"not regexp set", []*labels.Matcher{m(t, NRE, "env", "prod|dev")}, str(3, 4)},
		{"intersection", []*labels.Matcher{m(t, E, "app", "api"), m(t, E, "env", "prod")}, str(0)},
		{"intersection with negative", []*labels.Matcher{m(t, RE, "app", ".+"), m(t, NE, "env", "prod")}, str(1, 3)},
		{"intersection empty", []*labels.Matcher{m(t, E, "app", "web"), m(t, E, "env", "dev")}, nil},
		{"all negative", []*labels.Matcher{m(t, NE, "app", "api"), m(t, NRE, "env", "d.*")}, str(2, 3, 4)},
	}
	ctx := context.Background()
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got, err := ix.Series(ctx, tenant, day0, day0+hour, tc.ms...)
			if err != nil {
				t.Fatalf("Series(%v) = %v", tc.ms, err)
			}
			if s := seriesStrings(got); !slices.Equal(s, tc.want) {
				t.Errorf("Series(%v) = %q, want %q", tc.ms, s, tc.want)
			}
			// The same selection through ChunkRefs.
			chunks, err := ix.ChunkRefs(ctx, tenant, day0, day0+hour, tc.ms...)
			if err != nil {
				t.Fatalf("ChunkRefs(%v) = %v", tc.ms, err)
			}
			var cs []string
			for _, c := range chunks {
				cs = append(cs, c.Labels.String())
				if len(c.Chunks) != 1 {
					t.Errorf("ChunkRefs(%v): %s has %d chunks, want 1", tc.ms, c.Labels, len(c.Chunks))
				}
			}
			if !slices.Equal(cs, tc.want) {
				t.Errorf("ChunkRefs(%v) series = %q, want %q", tc.ms, cs, tc.want)
			}
		})
	}
}
