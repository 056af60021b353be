package index_test

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/prometheus/prometheus/model/labels"

	"github.com/sluicelog/sluice/pkg/index"
)

func TestSnapshot(t *testing.T) {
	ctx := context.Background()
	ix := openIndex(t, t.TempDir(), index.Options{})
	lbls := labels.FromStrings("app", "api")
	mustAdd(t, ix, lbls, ref(day0+minute, day0+2*minute, 1))
	day := index.DayOf(day0)

	var first bytes.Buffer
	v1, err := ix.Snapshot(tenant, day, &first)
	if err != nil {
		t.Fatalf("Snapshot() = %v", err)
	}
	if got, err := index.ReadVersion(first.Bytes()); err != nil || got != v1 {
		t.Fatalf("ReadVersion(snapshot) = %v, %v, want %v", got, err, v1)
	}
	var again bytes.Buffer
	if v, err := ix.Snapshot(tenant, day, &again); err != nil || v != v1 {
		t.Fatalf("Snapshot() without writes = %v, %v, want %v", v, err, v1)
	}
	mustAdd(t, ix, lbls, ref(day0+3*minute, day0+4*minute, 2))
	var second bytes.Buffer
	v2, err := ix.Snapshot(tenant, day, &second)
	if err != nil || v2 == v1 || v2.TxID <= v1.TxID {
		t.Fatalf("Snapshot() after a write = %v, %v, want a newer version than %v", v2, err, v1)
	}

	// The copy is a table of its own, with the writes up to the snapshot.
	path := filepath.Join(t.TempDir(), "copy.db")
	if err := os.WriteFile(path, first.Bytes(), 0o600); err != nil {
		t.Fatal(err)
	}
	tbl, err := index.OpenTable(path)
	if err != nil {
		t.Fatalf("OpenTable(snapshot) = %v", err)
	}
	defer tbl.Close()
	if err := tbl.Check(); err != nil {
		t.Fatalf("Check() = %v", err)
	}
	all, err := tbl.All(ctx)
	if err != nil || len(all) != 1 || len(all[0].Chunks) != 1 || tbl.Tenant() != tenant || tbl.Day() != day {
		t.Fatalf("All() of snapshot = %+v, %v; tenant %q day %d", all, err, tbl.Tenant(), tbl.Day())
	}

	if _, err := ix.Snapshot(tenant, day+1, &bytes.Buffer{}); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("Snapshot(missing day) = %v, want os.ErrNotExist", err)
	}
}

func TestReadVersionCorrupt(t *testing.T) {
	ix := openIndex(t, t.TempDir(), index.Options{})
	mustAdd(t, ix, labels.FromStrings("app", "api"), ref(day0, day0+minute, 1))
	var b bytes.Buffer
	if _, err := ix.Snapshot(tenant, index.DayOf(day0), &b); err != nil {
		t.Fatal(err)
	}
	for name, head := range map[string][]byte{
		"short":     b.Bytes()[:10],
		"magic":     append([]byte{}, b.Bytes()[:index.VersionHeaderSize]...),
		"txid":      append([]byte{}, b.Bytes()[:index.VersionHeaderSize]...),
		"not bbolt": bytes.Repeat([]byte("x"), 100),
	} {
		switch name {
		case "magic":
			head[16] ^= 1
		case "txid":
			head[64] ^= 1
		}
		if v, err := index.ReadVersion(head); !errors.Is(err, index.ErrCorrupt) {
			t.Errorf("ReadVersion(%s) = %v, %v, want ErrCorrupt", name, v, err)
		}
	}
}

func TestCheckCorrupt(t *testing.T) {
	ix := openIndex(t, t.TempDir(), index.Options{})
	for i := range 200 {
		mustAdd(t, ix, labels.FromStrings("app", "api", "n", string(rune('a'+i%26))+string(rune('a'+i/26))), ref(day0, day0+minute, uint32(i)))
	}
	var b bytes.Buffer
	if _, err := ix.Snapshot(tenant, index.DayOf(day0), &b); err != nil {
		t.Fatal(err)
	}
	data := b.Bytes()
	// Damage the data pages past the two meta pages and the freelist.
	for i := 4 * 4096; i < len(data); i += 7 {
		data[i] ^= 0xff
	}
	path := filepath.Join(t.TempDir(), "bad.db")
	if err := os.WriteFile(path, data, 0o600); err != nil {
		t.Fatal(err)
	}
	tbl, err := index.OpenTable(path)
	if err != nil {
		if !errors.Is(err, index.ErrCorrupt) {
			t.Fatalf("OpenTable(damaged) = %v, want ErrCorrupt", err)
		}
		return
	}
	defer tbl.Close()
	if err := tbl.Check(); !errors.Is(err, index.ErrCorrupt) {
		t.Fatalf("Check(damaged) = %v, want ErrCorrupt", err)
	}
}
