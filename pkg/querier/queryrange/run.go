package queryrange

import (
	"context"
	"sync"
)

// runOrdered runs fn(ctx, i) for i in [0, n), starting them in index order with at most p
// outstanding at once, and hands each result to consume in index order. A sub-query stays
// outstanding until its result is consumed, so memory holds at most p results and a caller
// that stops early has started at most p sub-queries it did not need.
//
// consume returns more=false or an error to stop: nothing more is started and running calls
// are cancelled. The first error (of fn, consume or ctx) stops everything and is returned. runOrdered returns
// only once every call it started has returned.
func runOrdered[T any](ctx context.Context, n, p int, fn func(ctx context.Context, i int) (T, error), consume func(i int, v T) (more bool, err error)) error {
	if p < 1 {
		p = 1
	}
	ctx, cancel := context.WithCancel(ctx)
	var wg sync.WaitGroup
	defer wg.Wait()
	defer cancel()

	type result struct {
		v   T
		err error
	}
	results := make([]chan result, n)
	for i := range results {
		results[i] = make(chan result, 1)
	}
	slots := make(chan struct{}, p)
	wg.Go(func() {
		for i := range n {
			select {
			case slots <- struct{}{}:
			case <-ctx.Done():
				return
			}
			if ctx.Err() != nil {
				return
			}
			wg.Go(func() {
				v, err := fn(ctx, i)
				results[i] <- result{v, err}
			})
		}
	})
	for i := range n {
		var r result
		select {
		case r = <-results[i]:
		case <-ctx.Done():
			return ctx.Err()
		}
		if r.err != nil {
			return r.err
		}
		more, err := consume(i, r.v)
		if err != nil || !more {
			return err
		}
		<-slots
	}
	return nil
}
