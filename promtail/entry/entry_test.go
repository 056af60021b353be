package entry

import (
	"testing"

	"github.com/prometheus/common/model"
)

// TestSetLabelMemo checks that entries with the same labels share the derived label set, that
// changing one entry's labels afterwards leaves the others alone, and that the tenant label,
// which the key leaves out, keeps apart entries that differ only in it.
func TestSetLabelMemo(t *testing.T) {
	base := model.LabelSet{"job": "x"}
	var memo LabelMemo
	a := New(base, base.String(), "a", 1, Entry{}.Ack)
	b := New(base, base.String(), "b", 2, Entry{}.Ack)
	a.SetLabelMemo("stream", "stdout", &memo)
	b.SetLabelMemo("stream", "stdout", &memo)
	if a.Key() != `{job="x", stream="stdout"}` || b.Key() != a.Key() {
		t.Fatalf("keys %s and %s", a.Key(), b.Key())
	}
	b.SetLabel("level", "info")
	if _, ok := a.Label("level"); ok || a.Key() != `{job="x", stream="stdout"}` {
		t.Fatalf("a change to b reached a: %v %s", a.Labels(), a.Key())
	}
	if _, ok := base["stream"]; ok {
		t.Fatal("the shared base label set was modified")
	}
	c := New(base, base.String(), "c", 3, Entry{}.Ack)
	c.SetLabelMemo("stream", "stderr", &memo)
	if v, _ := c.Label("stream"); v != "stderr" {
		t.Fatalf("stream = %q, want stderr", v)
	}
	// Same key, different tenants: the memo must not hand one tenant's labels to the other.
	t1 := model.LabelSet{"job": "x", ReservedLabelTenantID: "t1"}
	t2 := model.LabelSet{"job": "x", ReservedLabelTenantID: "t2"}
	e1 := New(t1, "", "1", 4, Entry{}.Ack)
	e2 := New(t2, "", "2", 5, Entry{}.Ack)
	e1.SetLabelMemo("stream", "stdout", &memo)
	e2.SetLabelMemo("stream", "stdout", &memo)
	if v, _ := e2.Label(ReservedLabelTenantID); v != "t2" {
		t.Fatalf("tenant of e2 = %q, want t2", v)
	}
	// The memo stays bounded.
	for i := 0; i < 3*memoSize; i++ {
		ls := model.LabelSet{"n": model.LabelValue(rune('a' + i%26)), "i": model.LabelValue(string(rune(i)))}
		e := New(ls, "", "", 0, Entry{}.Ack)
		e.SetLabelMemo("stream", "stdout", &memo)
	}
	if len(memo.m) > memoSize {
		t.Fatalf("memo holds %d entries, bound %d", len(memo.m), memoSize)
	}
}
