package manifest

import "testing"

func TestParseAndGet(t *testing.T) {
	objs, err := Parse([]byte("a: 1\n---\n# only a comment\n---\nkind: Service\nmetadata: {name: s}\nspec:\n  ports: [{port: 80}]\n"))
	if err != nil {
		t.Fatal(err)
	}
	if len(objs) != 2 {
		t.Fatalf("Parse: %d objects, want 2 (empty documents skipped)", len(objs))
	}
	s := Find(objs, "Service", "s")
	if s == nil {
		t.Fatal("Find(Service, s) = nil")
	}
	if got := Get(s, "spec", "ports", 0, "port"); got != 80 {
		t.Errorf("Get(spec.ports[0].port) = %v, want 80", got)
	}
	for _, p := range [][]any{{"spec", "ports", 1}, {"spec", "nope", "x"}, {"metadata", "name", "x"}, {"spec", "ports", -1}} {
		if got := Get(s, p...); got != nil {
			t.Errorf("Get(%v) = %v, want nil", p, got)
		}
	}
	if _, err := Parse([]byte("a: [\n")); err == nil {
		t.Error("Parse(bad YAML) = nil error")
	}
}
