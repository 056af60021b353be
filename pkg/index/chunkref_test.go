package index_test

import (
	"errors"
	"testing"

	"github.com/sluicelog/sluice/pkg/index"
)

func TestChunkKey(t *testing.T) {
	r := index.ChunkRef{Tenant: "team-a", Fingerprint: 0x1a2b, From: 1700000000000000000, Through: 1700000000999999999, Checksum: 0xdeadbeef}
	const want = "chunks/team-a/0000000000001a2b/17979cfe362a0000-17979cfe71c4c9ff-deadbeef"
	if got := r.Key(); got != want {
		t.Errorf("Key() = %q, want %q", got, want)
	}
	back, err := index.ParseKey(want)
	if err != nil || back != r {
		t.Errorf("ParseKey(%q) = %+v, %v; want %+v", want, back, err, r)
	}
	neg := index.ChunkRef{Tenant: "x", From: -5, Through: -1}
	if back, err := index.ParseKey(neg.Key()); err != nil || back != neg {
		t.Errorf("ParseKey(%q) = %+v, %v", neg.Key(), back, err)
	}
}

func TestParseKeyRejects(t *testing.T) {
	for _, key := range []string{
		"",
		"chunk/a/0000000000001a2b/0000000000000001-0000000000000002-00000001",
		"chunks/a/0000000000001a2b/0000000000000001-0000000000000002",
		"chunks/a/1a2b/0000000000000001-0000000000000002-00000001",
		"chunks/a/0000000000001A2B/0000000000000001-0000000000000002-00000001",
		"chunks/../0000000000001a2b/0000000000000001-0000000000000002-00000001",
		"chunks/a/b/0000000000001a2b/0000000000000001-0000000000000002-00000001",
		"chunks/a/0000000000001a2b/000000000000000g-0000000000000002-00000001",
		"chunks/a/0000000000001a2b/+000000000000001-0000000000000002-00000001",
	} {
		if _, err := index.ParseKey(key); !errors.Is(err, index.ErrBadKey) {
			t.Errorf("ParseKey(%q) = %v, want ErrBadKey", key, err)
		}
	}
}

func FuzzParseKey(f *testing.F) {
	f.Add(index.ChunkRef{Tenant: "fake", Fingerprint: 1, From: 2, Through: 3, Checksum: 4}.Key())
	f.Add("chunks/a/b/c")
	f.Fuzz(func(t *testing.T, key string) {
		r, err := index.ParseKey(key)
		if err != nil {
			return
		}
		if got := r.Key(); got != key {
			t.Fatalf("ParseKey(%q).Key() = %q", key, got)
		}
	})
}

func TestDayOf(t *testing.T) {
	check := func(ts, want int64) {
		t.Helper()
		if got := index.DayOf(ts); got != want {
			t.Errorf("DayOf(%d) = %d, want %d", ts, got, want)
		}
	}
	check(0, 0)
	check(index.DayNanos-1, 0)
	check(index.DayNanos, 1)
	check(-1, -1)
	check(-index.DayNanos, -1)
	check(-index.DayNanos-1, -2)
	from, through := index.DayRange(-1)
	if from != -index.DayNanos || through != -1 {
		t.Errorf("DayRange(-1) = %d, %d", from, through)
	}
}
