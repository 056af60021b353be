package ack

import (
	"testing"

	"github.com/sluicelog/sluice/pkg/race"
)

func TestCommittedFollowsContiguousPrefix(t *testing.T) {
	tr := NewTracker(100, 1)
	a := tr.Add(110)
	b := tr.Add(120)
	c := tr.Add(130)
	if got := tr.Committed(); got != 100 {
		t.Fatalf("Committed() = %d before any ack, want 100", got)
	}
	c.Done()
	if got := tr.Committed(); got != 100 {
		t.Fatalf("Committed() = %d after acking only the last line, want 100", got)
	}
	a.Done()
	if got := tr.Committed(); got != 110 {
		t.Fatalf("Committed() = %d, want 110", got)
	}
	b.Drop()
	if got, p := tr.Committed(), tr.Pending(); got != 130 || p != 0 {
		t.Fatalf("Committed(), Pending() = %d, %d, want 130, 0", got, p)
	}
}

func TestEveryClientMustAck(t *testing.T) {
	tr := NewTracker(0, 2)
	a := tr.Add(10)
	a.Done()
	if got := tr.Committed(); got != 0 {
		t.Fatalf("Committed() = %d after one of two clients, want 0", got)
	}
	a.Done()
	if got := tr.Committed(); got != 10 {
		t.Fatalf("Committed() = %d after both clients, want 10", got)
	}
}

func TestMerge(t *testing.T) {
	tr := NewTracker(0, 1)
	a, b, c := tr.Add(1), tr.Add(2), tr.Add(3)
	m := a.Merge(c) // not contiguous: b is left alone
	m.Done()
	if got := tr.Committed(); got != 1 {
		t.Fatalf("Committed() = %d, want 1 (b pending)", got)
	}
	b.Done()
	if got := tr.Committed(); got != 3 {
		t.Fatalf("Committed() = %d, want 3", got)
	}
	tr2 := NewTracker(0, 1)
	x, y := tr2.Add(5), tr2.Add(9)
	xy := x.Merge(y)
	if len(xy.more) != 0 || xy.first != x.first || xy.last != y.last {
		t.Fatalf("contiguous merge = %+v, want one range", xy)
	}
	xy.Done()
	if tr2.Committed() != 9 {
		t.Fatalf("Committed() = %d, want 9", tr2.Committed())
	}
	var zero Ack
	if !zero.IsZero() || !zero.Merge(Ack{}).IsZero() {
		t.Fatal("zero Ack is not zero")
	}
	zero.Done() // must not panic
}

func TestCompaction(t *testing.T) {
	tr := NewTracker(0, 1)
	var acks []Ack
	for i := 1; i <= 10000; i++ {
		acks = append(acks, tr.Add(int64(i)))
	}
	for _, a := range acks[:9990] {
		a.Done()
	}
	if tr.Committed() != 9990 || tr.Pending() != 10 {
		t.Fatalf("Committed, Pending = %d, %d", tr.Committed(), tr.Pending())
	}
	if len(tr.items) > 200 {
		t.Fatalf("%d items kept for 10 pending lines", len(tr.items))
	}
	for _, a := range acks[9990:] {
		a.Done()
	}
	if tr.Committed() != 10000 {
		t.Fatalf("Committed() = %d", tr.Committed())
	}
}

func TestAddDoneAllocs(t *testing.T) {
	race.SkipAllocs(t)
	tr := NewTracker(0, 1)
	for i := 0; i < 1000; i++ {
		tr.Add(int64(i)).Done()
	}
	var off int64
	n := testing.AllocsPerRun(1000, func() {
		off++
		tr.Add(off).Done()
	})
	if n != 0 {
		t.Fatalf("Add+Done allocates %v times, want 0", n)
	}
}
