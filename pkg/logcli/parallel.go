package logcli

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"slices"
	"sync"
	"time"
)

// partTimeFormat names a part file's start and end, in UTC. Whole seconds print as Loki's logcli
// prints them; a fraction is added only when a bound has one, so sub-second jobs get distinct
// names instead of overwriting each other.
const partTimeFormat = "20060102T150405.999999999"

type partJob struct {
	start, end time.Time
	done       chan struct{} // closed when the part is complete (or was already)
	err        error         // set before done is closed
}

// partPath is prefix_<start>_<end>.part; while it downloads, the file has a further ".tmp".
func (q *Query) partPath(j *partJob) string {
	return fmt.Sprintf("%s_%s_%s.part", q.PartPathPrefix,
		j.start.UTC().Format(partTimeFormat), j.end.UTC().Format(partTimeFormat))
}

// parallelJobs splits [Start, End) into ParallelDuration slices, newest first unless Forward.
func (q *Query) parallelJobs() []*partJob {
	var jobs []*partJob
	for s := q.Start; s.Before(q.End); s = s.Add(q.ParallelDuration) {
		e := s.Add(q.ParallelDuration)
		if e.After(q.End) {
			e = q.End
		}
		jobs = append(jobs, &partJob{start: s, end: e, done: make(chan struct{})})
	}
	if !q.Forward {
		slices.Reverse(jobs)
	}
	return jobs
}

// DoParallel downloads the range as ParallelDuration jobs run by ParallelMaxWorkers workers;
// --limit is ignored. With PartPathPrefix each job writes a part file (kept if complete, unless
// OverwriteCompletedParts); MergeParts then prints the parts in order as they complete and
// removes them unless KeepParts. Without a prefix, pages go to stdout as they arrive, so jobs
// interleave (whole pages, never partial lines).
func (q *Query) DoParallel(ctx context.Context, c *Client, p *Printer) error {
	if q.ParallelDuration <= 0 {
		return errors.New("--parallel-duration must be positive")
	}
	if q.MergeParts && q.PartPathPrefix == "" {
		return errors.New("--merge-parts needs --part-path-prefix")
	}
	workers := max(q.ParallelMaxWorkers, 1)
	jobs := q.parallelJobs()
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()

	queue := make(chan *partJob)
	var stdoutMu sync.Mutex
	var wg sync.WaitGroup
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for j := range queue {
				j.err = q.runPart(ctx, c, p, j, &stdoutMu)
				close(j.done)
				if j.err != nil {
					cancel()
				}
			}
		}()
	}
	wg.Add(1)
	go func() {
		defer wg.Done()
		defer close(queue)
		for _, j := range jobs {
			select {
			case queue <- j:
			case <-ctx.Done():
				// Jobs never started are marked failed so that merging stops.
				j.err = ctx.Err()
				close(j.done)
			}
		}
	}()

	var mergeErr error
	if q.MergeParts {
		mergeErr = q.mergeParts(ctx, p, jobs)
		if mergeErr != nil {
			cancel()
		}
	}
	wg.Wait()
	var errs []error
	for _, j := range jobs {
		if j.err != nil && !errors.Is(j.err, context.Canceled) {
			errs = append(errs, j.err)
		}
	}
	if mergeErr != nil && !errors.Is(mergeErr, context.Canceled) {
		errs = append(errs, mergeErr)
	}
	if len(errs) == 0 && ctx.Err() != nil && !q.MergeParts {
		for _, j := range jobs {
			if j.err != nil {
				errs = append(errs, j.err)
				break
			}
		}
	}
	return errors.Join(errs...)
}

// runPart downloads one job.
func (q *Query) runPart(ctx context.Context, c *Client, p *Printer, j *partJob, stdoutMu *sync.Mutex) error {
	if q.PartPathPrefix == "" {
		w := &pageBuffer{out: p.Stdout, mu: stdoutMu}
		_, err := newPager(q, p, w).download(ctx, c, j.start, j.end, 0)
		return err
	}
	final := q.partPath(j)
	if !q.OverwriteCompletedParts {
		if _, err := os.Stat(final); err == nil {
			return nil
		} else if !errors.Is(err, os.ErrNotExist) {
			return fmt.Errorf("check part file: %w", err)
		}
	}
	tmp := final + ".tmp"
	f, err := os.Create(tmp)
	if err != nil {
		return fmt.Errorf("create part file: %w", err)
	}
	w := bufio.NewWriterSize(f, 64<<10)
	pg := newPager(q, p, w)
	if p.PartOutput != nil {
		pg.out = p.PartOutput
	}
	_, err = pg.download(ctx, c, j.start, j.end, 0)
	if ferr := w.Flush(); err == nil && ferr != nil {
		err = fmt.Errorf("write part file: %w", ferr)
	}
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil && cerr != nil {
		err = fmt.Errorf("close part file: %w", cerr)
	}
	if err != nil {
		return fmt.Errorf("part %s: %w", final, err)
	}
	if err := os.Rename(tmp, final); err != nil {
		return fmt.Errorf("complete part file: %w", err)
	}
	return nil
}

// mergeParts copies the part files to stdout in job order, each as soon as it is complete.
func (q *Query) mergeParts(ctx context.Context, p *Printer, jobs []*partJob) error {
	for _, j := range jobs {
		select {
		case <-j.done:
		case <-ctx.Done():
			return ctx.Err()
		}
		if j.err != nil {
			return j.err
		}
		name := q.partPath(j)
		if err := copyFile(p.Stdout, name); err != nil {
			return err
		}
		if !q.KeepParts {
			if err := os.Remove(name); err != nil {
				return fmt.Errorf("remove part file: %w", err)
			}
		}
	}
	return nil
}

func copyFile(w io.Writer, name string) (err error) {
	f, err := os.Open(name)
	if err != nil {
		return fmt.Errorf("open part file: %w", err)
	}
	defer func() { err = errors.Join(err, f.Close()) }()
	if _, err := io.Copy(w, f); err != nil {
		return fmt.Errorf("merge part file %s: %w", name, err)
	}
	return nil
}

// pageBuffer collects one page and writes it to out in one piece under mu, so that pages of
// parallel jobs never interleave inside a line.
type pageBuffer struct {
	out io.Writer
	mu  *sync.Mutex
	buf bytes.Buffer
}

func (b *pageBuffer) Write(p []byte) (int, error) { return b.buf.Write(p) }

func (b *pageBuffer) Flush() error {
	b.mu.Lock()
	defer b.mu.Unlock()
	_, err := b.out.Write(b.buf.Bytes())
	b.buf.Reset()
	return err
}
