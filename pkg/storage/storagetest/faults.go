package storagetest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"reflect"
	"sync"
	"testing"

	"github.com/sluicelog/sluice/pkg/storage"
)

// testCancelled checks that every call honours a cancelled context, and that a Put whose
// context is cancelled while its body is being read leaves nothing behind.
func testCancelled(t *testing.T, c storage.ObjectClient) {
	put(t, c, "cancel/present", []byte("data"))
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	check := func(call string, err error) {
		t.Helper()
		if !errors.Is(err, context.Canceled) {
			t.Errorf("%s with a cancelled context = %v, want context.Canceled", call, err)
		}
	}
	check("Put", c.Put(ctx, "cancel/new", bytes.NewReader([]byte("x"))))
	rc, err := c.Get(ctx, "cancel/present")
	if err == nil {
		rc.Close()
	}
	check("Get", err)
	rc, err = c.GetRange(ctx, "cancel/present", 0, 2)
	if err == nil {
		rc.Close()
	}
	check("GetRange", err)
	_, err = c.List(ctx, "cancel/")
	check("List", err)
	check("Delete", c.Delete(ctx, "cancel/present"))

	// Cancel while the body is half read.
	ctx, cancel = context.WithCancel(context.Background())
	defer cancel()
	body := &cancellingReader{data: Payload(6, 1<<20), cancelAt: 256 << 10, cancel: cancel}
	check("Put cancelled mid-body", c.Put(ctx, "cancel/midway", body))

	if got := list(t, c, "cancel/"); !reflect.DeepEqual(got, []string{"cancel/present"}) {
		t.Fatalf(`List("cancel/") after cancelled calls = %q, want ["cancel/present"]`, got)
	}
	checkBytes(t, "Get after cancelled Delete", get(t, c, "cancel/present"), []byte("data"))
}

// cancellingReader serves data and calls cancel once cancelAt bytes have been read.
type cancellingReader struct {
	data     []byte
	off      int
	cancelAt int
	cancel   func()
}

func (r *cancellingReader) Read(p []byte) (int, error) {
	if r.off >= len(r.data) {
		return 0, io.EOF
	}
	if r.off >= r.cancelAt {
		r.cancel()
	}
	n := copy(p, r.data[r.off:min(len(r.data), r.off+32<<10)])
	r.off += n
	return n, nil
}

// errReader fails after serving n bytes.
type errReader struct {
	n   int
	err error
}

func (r *errReader) Read(p []byte) (int, error) {
	if r.n == 0 {
		return 0, r.err
	}
	k := min(len(p), r.n)
	clear(p[:k])
	r.n -= k
	return k, nil
}

// testFailedPut checks that a Put whose reader fails returns that error and leaves the old
// object, or none, in place.
func testFailedPut(t *testing.T, c storage.ObjectClient) {
	errBoom := errors.New("boom")
	ctx := ctxT(t)
	for _, size := range []int{0, 100 << 10, LargeSize} {
		err := c.Put(ctx, "fail/new", &errReader{n: size, err: errBoom})
		if !errors.Is(err, errBoom) {
			t.Errorf("Put with a reader failing after %d bytes = %v, want the reader's error", size, err)
		}
	}
	if got := list(t, c, "fail/"); len(got) != 0 {
		t.Fatalf(`List("fail/") after failed Puts = %q, want none`, got)
	}
	put(t, c, "fail/old", []byte("old"))
	if err := c.Put(ctx, "fail/old", &errReader{n: 1000, err: errBoom}); !errors.Is(err, errBoom) {
		t.Errorf("Put over an existing object with a failing reader = %v, want the reader's error", err)
	}
	checkBytes(t, "Get after failed overwrite", get(t, c, "fail/old"), []byte("old"))
}

// testConcurrent runs Put, Get, GetRange, List and Delete from several goroutines.
func testConcurrent(t *testing.T, c storage.ObjectClient) {
	ctx := ctxT(t)
	var wg sync.WaitGroup
	errs := make(chan error, 64)
	for g := range 8 {
		wg.Go(func() {
			for i := range 5 {
				key := fmt.Sprintf("conc/g%d/k%d", g, i)
				data := Payload(uint64(100*g+i), 4096+g*i)
				if err := c.Put(ctx, key, bytes.NewReader(data)); err != nil {
					errs <- fmt.Errorf("Put(%q) = %w", key, err)
					return
				}
				rc, err := c.GetRange(ctx, key, 100, 50)
				if err != nil {
					errs <- fmt.Errorf("GetRange(%q) = %w", key, err)
					return
				}
				got, err := readAll(rc)
				if err != nil || !bytes.Equal(got, data[100:150]) {
					errs <- fmt.Errorf("GetRange(%q) read %d bytes, err %v: wrong content", key, len(got), err)
					return
				}
				if _, err := c.List(ctx, fmt.Sprintf("conc/g%d/", g)); err != nil {
					errs <- fmt.Errorf("List = %w", err)
					return
				}
				if i%2 == 1 {
					if err := c.Delete(ctx, key); err != nil {
						errs <- fmt.Errorf("Delete(%q) = %w", key, err)
						return
					}
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	if got := list(t, c, "conc/"); len(got) != 8*3 {
		t.Fatalf(`List("conc/") = %d keys, want %d`, len(got), 8*3)
	}
}
