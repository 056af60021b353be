package shipper_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"testing"
	"time"

	"github.com/sluicelog/sluice/pkg/index"
	"github.com/sluicelog/sluice/pkg/storage"
	"github.com/sluicelog/sluice/pkg/storage/shipper"
)

func TestListAndFetchShipped(t *testing.T) {
	ctx := context.Background()
	objects := storage.NewMemory()
	day := index.DayOf(day0)
	a := newNode(t, objects, "ing-a")
	a.add(t, "api", day0, 1)
	a.add(t, "api", day0+index.DayNanos, 2) // the next day
	a.upload(t)
	merged := shipper.CompactedKey(day, tenant, time.Unix(0, 42))
	if want := fmt.Sprintf("index/%d/fake/compactor-42.db", day); merged != want {
		t.Fatalf("CompactedKey() = %q, want %q", merged, want)
	}
	rc, err := objects.Get(ctx, fmt.Sprintf("index/%d/fake/ing-a.db", day))
	if err != nil {
		t.Fatal(err)
	}
	good, _ := io.ReadAll(rc)
	rc.Close()
	for key, data := range map[string][]byte{
		merged:                                   good,
		fmt.Sprintf("index/%d/fake/bad.db", day): bytes.Repeat([]byte("x"), 8192),
		fmt.Sprintf("index/%d/fake/notes.txt", day): []byte("not a table"),
	} {
		if err := objects.Put(ctx, key, bytes.NewReader(data)); err != nil {
			t.Fatal(err)
		}
	}

	all, err := shipper.ListShipped(ctx, objects, "", 0)
	if err != nil {
		t.Fatal(err)
	}
	if len(all) != 4 {
		t.Fatalf("ListShipped(all) = %v, want 4 tables", all)
	}
	ofDay, err := shipper.ListShipped(ctx, objects, tenant, day)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, s := range ofDay {
		if s.Day != day || s.Tenant != tenant {
			t.Errorf("ListShipped(day) returned %+v", s)
		}
		got = append(got, fmt.Sprintf("%s:%v", s.Name, s.Compacted()))
	}
	expect(t, "tables of the day", got, "bad:false", "compactor-42:true", "ing-a:false")

	dir := t.TempDir()
	for _, s := range ofDay {
		tb, err := shipper.FetchShipped(ctx, objects, s, dir)
		if s.Name == "bad" {
			if !errors.Is(err, index.ErrCorrupt) {
				t.Errorf("FetchShipped(bad) = %v, want ErrCorrupt", err)
			}
			continue
		}
		if err != nil {
			t.Fatalf("FetchShipped(%s) = %v", s.Key, err)
		}
		series, err := tb.All(ctx)
		if err != nil || len(series) != 1 || len(series[0].Chunks) != 1 || series[0].Chunks[0].Checksum != 1 {
			t.Errorf("All() of %s = %v, %v; want the day's one chunk", s.Key, series, err)
		}
		if err := tb.Close(); err != nil {
			t.Fatal(err)
		}
		if err := os.Remove(tb.Path()); err != nil {
			t.Fatal(err)
		}
	}
	// A table under another tenant's key is refused; a missing one says so.
	wrong := shipper.Shipped{Key: merged, Day: day + 1, Tenant: tenant, Name: "compactor-42"}
	if _, err := shipper.FetchShipped(ctx, objects, wrong, dir); !errors.Is(err, index.ErrCorrupt) {
		t.Errorf("FetchShipped(misplaced) = %v, want ErrCorrupt", err)
	}
	gone := shipper.Shipped{Key: fmt.Sprintf("index/%d/fake/gone.db", day), Day: day, Tenant: tenant, Name: "gone"}
	if _, err := shipper.FetchShipped(ctx, objects, gone, dir); !errors.Is(err, storage.ErrNotFound) {
		t.Errorf("FetchShipped(missing) = %v, want ErrNotFound", err)
	}
	if left, _ := os.ReadDir(dir); len(left) != 0 {
		t.Errorf("FetchShipped left %d files behind", len(left))
	}
}
