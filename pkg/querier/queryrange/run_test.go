package queryrange

import (
	"context"
	"errors"
	"sync/atomic"
	"testing"
)

func TestRunOrderedDeliversInOrder(t *testing.T) {
	var got []int
	err := runOrdered(context.Background(), 50, 8,
		func(ctx context.Context, i int) (int, error) { return i * i, nil },
		func(i, v int) (bool, error) {
			got = append(got, v)
			return true, nil
		})
	if err != nil {
		t.Fatal(err)
	}
	for i, v := range got {
		if v != i*i {
			t.Fatalf("result %d = %d, want %d", i, v, i*i)
		}
	}
	if len(got) != 50 {
		t.Fatalf("got %d results, want 50", len(got))
	}
}

func TestRunOrderedStopsOnError(t *testing.T) {
	boom := errors.New("boom")
	var calls atomic.Int64
	err := runOrdered(context.Background(), 100, 2,
		func(ctx context.Context, i int) (int, error) {
			calls.Add(1)
			if i == 3 {
				return 0, boom
			}
			return i, nil
		},
		func(i, v int) (bool, error) { return true, nil })
	if !errors.Is(err, boom) {
		t.Fatalf("err = %v, want boom", err)
	}
	// At most p calls are outstanding, so little runs past the failing one.
	if n := calls.Load(); n > 6 {
		t.Errorf("%d calls ran, want the run to stop soon after the error", n)
	}
}
