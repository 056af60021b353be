// Package storagetest is the conformance suite every storage.ObjectClient passes: the
// filesystem and memory backends in their unit tests, and the S3 backend against a real
// S3-compatible server. A backend's test calls Run with a constructor of empty stores.
//
// The contract it checks, beyond the interface's doc comments:
//   - Get, GetRange on a missing key wrap storage.ErrNotFound (errors.Is).
//   - Delete of a missing key returns nil: S3 deletes are idempotent, and so are ours.
//   - GetRange(off, n) returns min(n, size-off) bytes, and no bytes (not an error) when off is
//     at or past the end; a negative off or n is an error.
//   - List(prefix) matches on the raw key string, so "a/b" lists "a/b/c" and "a/bc"; the result
//     is sorted, and empty (len 0) when nothing matches.
//   - A cancelled context fails every call with an error wrapping context.Canceled, and a Put
//     that fails (cancelled, or its reader fails) leaves no object behind.
//
// Keys are slash-separated and clean (no leading or doubled slash, no "." or ".." element), and
// no key is also the "directory" of another key: the filesystem backend cannot hold both
// "a/b" and "a/b/c".
package storagetest

import (
	"bytes"
	"errors"
	"fmt"
	"reflect"
	"slices"
	"sync"
	"testing"

	"github.com/sluicelog/sluice/pkg/storage"
)

// LargeSize is the size of the large object in the round-trip test: past the S3 backend's
// multipart threshold (16 MiB), so it exercises multipart uploads.
const LargeSize = 20 << 20

// Run runs the conformance suite. newClient must return a client over an empty store each time
// it is called; it may register cleanups on t.
func Run(t *testing.T, newClient func(t *testing.T) storage.ObjectClient) {
	t.Run("RoundTrip", func(t *testing.T) { testRoundTrip(t, newClient(t)) })
	t.Run("Large", func(t *testing.T) { testLarge(t, newClient(t)) })
	t.Run("Overwrite", func(t *testing.T) { testOverwrite(t, newClient(t)) })
	t.Run("OverwriteAtomic", func(t *testing.T) { testOverwriteAtomic(t, newClient(t)) })
	t.Run("GetRange", func(t *testing.T) { testGetRange(t, newClient(t)) })
	t.Run("List", func(t *testing.T) { testList(t, newClient(t)) })
	t.Run("Delete", func(t *testing.T) { testDelete(t, newClient(t)) })
	t.Run("NotFound", func(t *testing.T) { testNotFound(t, newClient(t)) })
	t.Run("OddKeys", func(t *testing.T) { testOddKeys(t, newClient(t)) })
	t.Run("Cancelled", func(t *testing.T) { testCancelled(t, newClient(t)) })
	t.Run("FailedPut", func(t *testing.T) { testFailedPut(t, newClient(t)) })
	t.Run("Concurrent", func(t *testing.T) { testConcurrent(t, newClient(t)) })
}

func testRoundTrip(t *testing.T, c storage.ObjectClient) {
	for _, tc := range []struct {
		name string
		key  string
		data []byte
	}{
		{"empty", "rt/empty", []byte{}},
		{"one byte", "rt/one", []byte{0}},
		{"small", "rt/small", []byte("hello, sluice\n")},
		{"64KiB", "rt/dir/nested/64k", Payload(1, 64<<10)},
		{"1MiB+1", "rt/1m", Payload(2, 1<<20+1)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			put(t, c, tc.key, tc.data)
			checkBytes(t, fmt.Sprintf("Get(%q)", tc.key), get(t, c, tc.key), tc.data)
		})
	}
}

func testLarge(t *testing.T, c storage.ObjectClient) {
	data := Payload(3, LargeSize)
	put(t, c, "large/object", data)
	checkBytes(t, `Get("large/object")`, get(t, c, "large/object"), data)
	// A range across the 16 MiB part boundary.
	off, n := int64(16<<20-100), int64(300)
	checkBytes(t, "GetRange across part boundary", getRange(t, c, "large/object", off, n), data[off:off+n])
	checkBytes(t, "GetRange of the tail", getRange(t, c, "large/object", LargeSize-10, 100), data[LargeSize-10:])
	if got := list(t, c, "large/"); !reflect.DeepEqual(got, []string{"large/object"}) {
		t.Fatalf(`List("large/") = %q, want ["large/object"]`, got)
	}
}

func testOverwrite(t *testing.T, c storage.ObjectClient) {
	put(t, c, "ow/key", Payload(4, 5000))
	put(t, c, "ow/key", []byte("short"))
	checkBytes(t, "Get after overwrite with shorter object", get(t, c, "ow/key"), []byte("short"))
	put(t, c, "ow/key", []byte{})
	checkBytes(t, "Get after overwrite with empty object", get(t, c, "ow/key"), []byte{})
	if got := list(t, c, "ow/"); !reflect.DeepEqual(got, []string{"ow/key"}) {
		t.Fatalf(`List("ow/") = %q, want one key`, got)
	}
}

// testOverwriteAtomic rewrites a key with two contents of different sizes while readers read
// it; every read must see one whole version.
func testOverwriteAtomic(t *testing.T, c storage.ObjectClient) {
	a := bytes.Repeat([]byte{'a'}, 200<<10)
	b := bytes.Repeat([]byte{'b'}, 300<<10)
	put(t, c, "atomic/key", a)
	ctx := ctxT(t)
	stop := make(chan struct{})
	var wg sync.WaitGroup
	errs := make(chan error, 16)
	for range 2 {
		wg.Go(func() {
			for {
				select {
				case <-stop:
					return
				default:
				}
				rc, err := c.Get(ctx, "atomic/key")
				if err != nil {
					errs <- fmt.Errorf("Get during overwrite: %w", err)
					return
				}
				got, err := readAll(rc)
				if err != nil {
					errs <- fmt.Errorf("read during overwrite: %w", err)
					return
				}
				if !bytes.Equal(got, a) && !bytes.Equal(got, b) {
					errs <- fmt.Errorf("read during overwrite: %d bytes starting %q, want all of one version", len(got), preview(got))
					return
				}
			}
		})
	}
	for i := range 20 {
		data := a
		if i%2 == 0 {
			data = b
		}
		if err := c.Put(ctx, "atomic/key", bytes.NewReader(data)); err != nil {
			t.Errorf("Put #%d = %v", i, err)
			break
		}
	}
	close(stop)
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
}

func testGetRange(t *testing.T, c storage.ObjectClient) {
	data := Payload(5, 1000)
	put(t, c, "range/key", data)
	put(t, c, "range/empty", nil)
	for _, tc := range []struct {
		name   string
		key    string
		off, n int64
		want   []byte
	}{
		{"start", "range/key", 0, 10, data[:10]},
		{"middle", "range/key", 500, 100, data[500:600]},
		{"end", "range/key", 990, 10, data[990:]},
		{"whole", "range/key", 0, 1000, data},
		{"past end is cut short", "range/key", 995, 10, data[995:]},
		{"longer than object", "range/key", 0, 1 << 20, data},
		{"at end is empty", "range/key", 1000, 10, nil},
		{"beyond end is empty", "range/key", 5000, 10, nil},
		{"zero length", "range/key", 10, 0, nil},
		{"empty object", "range/empty", 0, 10, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := getRange(t, c, tc.key, tc.off, tc.n)
			checkBytes(t, fmt.Sprintf("GetRange(%q, %d, %d)", tc.key, tc.off, tc.n), got, tc.want)
		})
	}
	t.Run("negative", func(t *testing.T) {
		for _, r := range [][2]int64{{-1, 10}, {0, -1}} {
			rc, err := c.GetRange(ctxT(t), "range/key", r[0], r[1])
			if err == nil {
				rc.Close()
				t.Errorf("GetRange(%d, %d) = nil error, want an error", r[0], r[1])
			}
		}
	})
}

func testList(t *testing.T, c storage.ObjectClient) {
	keys := []string{
		"index/tbl_2/file",
		"chunks/t1/b/2",
		"chunks/t1/a/1",
		"chunks/t1/a/3",
		"chunks/t10/x",
		"chunks/t2/z",
		"top",
	}
	for i, k := range keys {
		put(t, c, k, []byte{byte(i)})
	}
	for _, tc := range []struct {
		prefix string
		want   []string
	}{
		{"", []string{"chunks/t1/a/1", "chunks/t1/a/3", "chunks/t1/b/2", "chunks/t10/x", "chunks/t2/z", "index/tbl_2/file", "top"}},
		{"chunks/", []string{"chunks/t1/a/1", "chunks/t1/a/3", "chunks/t1/b/2", "chunks/t10/x", "chunks/t2/z"}},
		{"chunks/t1/", []string{"chunks/t1/a/1", "chunks/t1/a/3", "chunks/t1/b/2"}},
		{"chunks/t1", []string{"chunks/t1/a/1", "chunks/t1/a/3", "chunks/t1/b/2", "chunks/t10/x"}},
		{"chunks/t1/a/", []string{"chunks/t1/a/1", "chunks/t1/a/3"}},
		{"chunks/t1/a/3", []string{"chunks/t1/a/3"}},
		{"to", []string{"top"}},
		{"nothing/", nil},
		{"chunks/t3", nil},
		{"topx", nil},
	} {
		got := list(t, c, tc.prefix)
		if len(got) == 0 && len(tc.want) == 0 {
			continue
		}
		if !reflect.DeepEqual(got, tc.want) {
			t.Errorf("List(%q) = %q, want %q", tc.prefix, got, tc.want)
		}
	}
}

// testDelete checks that deleted objects are gone and that deleting twice is fine.
func testDelete(t *testing.T, c storage.ObjectClient) {
	put(t, c, "del/a/1", []byte("1"))
	put(t, c, "del/a/2", []byte("2"))
	ctx := ctxT(t)
	if err := c.Delete(ctx, "del/a/1"); err != nil {
		t.Fatalf(`Delete("del/a/1") = %v`, err)
	}
	if _, err := c.Get(ctx, "del/a/1"); !errors.Is(err, storage.ErrNotFound) {
		t.Fatalf(`Get after Delete = %v, want ErrNotFound`, err)
	}
	if got := list(t, c, "del/"); !reflect.DeepEqual(got, []string{"del/a/2"}) {
		t.Fatalf(`List("del/") after Delete = %q, want ["del/a/2"]`, got)
	}
	if err := c.Delete(ctx, "del/a/1"); err != nil {
		t.Fatalf(`second Delete("del/a/1") = %v, want nil (deletes are idempotent)`, err)
	}
	if err := c.Delete(ctx, "del/a/2"); err != nil {
		t.Fatalf(`Delete("del/a/2") = %v`, err)
	}
	if got := list(t, c, "del/"); len(got) != 0 {
		t.Fatalf(`List("del/") after deleting everything = %q, want none`, got)
	}
	// A deleted key can be written again.
	put(t, c, "del/a/1", []byte("again"))
	checkBytes(t, "Get after re-Put", get(t, c, "del/a/1"), []byte("again"))
}

func testNotFound(t *testing.T, c storage.ObjectClient) {
	put(t, c, "nf/present", []byte("x"))
	ctx := ctxT(t)
	for _, key := range []string{"nf/missing", "nf", "nf/present/below", "never/was/here"} {
		if rc, err := c.Get(ctx, key); !errors.Is(err, storage.ErrNotFound) {
			if err == nil {
				rc.Close()
			}
			t.Errorf("Get(%q) = %v, want ErrNotFound", key, err)
		}
		for _, r := range [][2]int64{{0, 10}, {0, 0}, {100, 10}} {
			if rc, err := c.GetRange(ctx, key, r[0], r[1]); !errors.Is(err, storage.ErrNotFound) {
				if err == nil {
					rc.Close()
				}
				t.Errorf("GetRange(%q, %d, %d) = %v, want ErrNotFound", key, r[0], r[1], err)
			}
		}
		if err := c.Delete(ctx, key); err != nil {
			t.Errorf("Delete(%q) of a missing key = %v, want nil", key, err)
		}
	}
	checkBytes(t, "Get of the present key", get(t, c, "nf/present"), []byte("x"))
}

// OddKeys are keys with characters that need escaping in URLs, in S3 signatures or in
// filesystem paths. Every backend stores them all.
var OddKeys = []string{
	"odd/space in name",
	"odd/plus+sign",
	"odd/percent%41%2F",
	"odd/query?x=1&y=2",
	"odd/hash#frag",
	"odd/colon:semi;comma,",
	"odd/quote'dq\"bq`",
	"odd/paren(bracket)[brace]{}",
	"odd/at@dollar$bang!star*",
	"odd/tilde~caret^pipe|",
	"odd/équipe/日本語/ключ",
	"odd/emoji-🪵",
	"odd/tab\tname",
	"odd/back\\slash",
	"odd/.hidden",
	"odd/-dash_under.dot",
	"odd/=equals",
}

func testOddKeys(t *testing.T, c storage.ObjectClient) {
	for _, k := range OddKeys {
		put(t, c, k, []byte(k))
		checkBytes(t, fmt.Sprintf("Get(%q)", k), get(t, c, k), []byte(k))
		checkBytes(t, fmt.Sprintf("GetRange(%q, 4, 3)", k), getRange(t, c, k, 4, 3), []byte(k)[4:7])
	}
	got := list(t, c, "odd/")
	want := append([]string(nil), OddKeys...)
	slices.Sort(want)
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("List(\"odd/\") = %q, want %q", got, want)
	}
	for _, k := range []string{"odd/space", "odd/équipe/"} {
		if got := list(t, c, k); len(got) != 1 {
			t.Errorf("List(%q) = %q, want one key", k, got)
		}
	}
	for _, k := range OddKeys {
		if err := c.Delete(ctxT(t), k); err != nil {
			t.Fatalf("Delete(%q) = %v", k, err)
		}
	}
	if got := list(t, c, "odd/"); len(got) != 0 {
		t.Fatalf("List(\"odd/\") after deleting all = %q, want none", got)
	}
}
