package pattern

import "testing"

func TestCollapseWildcards(t *testing.T) {
	for in, want := range map[string]string{
		"":                             "",
		"<_>":                          "<_>",
		"<_><_>":                       "<_>",
		"<_>user <_> logged in <_><_>": "<_>user <_> logged in <_>",
		"a<_><_><_>b<_> <_><_>":        "a<_>b<_> <_>",
		"<_<_>><_>":                    "<_<_>><_>",
	} {
		if got := string(collapseWildcards([]byte(in))); got != want {
			t.Errorf("collapseWildcards(%q) = %q, want %q", in, got, want)
		}
	}
}
