package logql

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sluicelog/sluice/pkg/logql/syntax"
)

// FuzzEngine checks that no parsable query makes the engine panic or return an error of an
// unexpected kind, as an instant query and as a range query over the fixture.
func FuzzEngine(f *testing.F) {
	fh, err := os.Open("testdata/queries.txt")
	if err != nil {
		f.Fatal(err)
	}
	sc := bufio.NewScanner(fh)
	for sc.Scan() {
		if _, q, ok := strings.Cut(sc.Text(), " :: "); ok {
			f.Add(q)
		}
	}
	fh.Close()
	eng := newFixtureEngine(f)
	// full extracts every label, to check that extracting only those a grouping needs changes
	// no result.
	full := newFixtureEngine(f)
	full.allLabels = true
	f.Fuzz(func(t *testing.T, q string) {
		if _, err := syntax.ParseExpr(q); err != nil {
			return
		}
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		for _, p := range []Params{
			{Query: q, Start: sec(0), End: sec(700), Step: time.Minute, Limit: 20},
			{Query: q, Start: sec(600), End: sec(600)},
		} {
			res, err := eng.Query(ctx, p)
			if want, werr := full.Query(ctx, p); fmt.Sprint(err) != fmt.Sprint(werr) {
				t.Errorf("Query(%q) error %v; extracting all labels: %v", q, err, werr)
			} else if err == nil && valueSummary(res.Data) != valueSummary(want.Data) {
				t.Errorf("Query(%q) =\n%s\nextracting all labels:\n%s", q, valueSummary(res.Data), valueSummary(want.Data))
			}
			var pe *syntax.ParseError
			var pipe *PipelineError
			var sl *SeriesLimitError
			if err != nil && !errors.As(err, &pe) && !errors.As(err, &pipe) && !errors.As(err, &sl) &&
				!errors.Is(err, ErrBadParams) {
				t.Errorf("Query(%q) unexpected error: %v", q, err)
			}
		}
	})
}

func TestConcurrentQueries(t *testing.T) {
	eng := newFixtureEngine(t)
	want, err := eng.Query(context.Background(), rangeQ(`sum by (level) (count_over_time({app="api"} | json | __error__="" [1m]))`, sec(0), sec(600), time.Minute))
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	for i := 0; i < 8; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			got, err := eng.Query(context.Background(), rangeQ(`sum by (level) (count_over_time({app="api"} | json | __error__="" [1m]))`, sec(0), sec(600), time.Minute))
			if err != nil {
				t.Error(err)
				return
			}
			if valueSummary(got.Data) != valueSummary(want.Data) {
				t.Errorf("concurrent query gave\n%s\nwant\n%s", valueSummary(got.Data), valueSummary(want.Data))
			}
		}()
	}
	wg.Wait()
}
