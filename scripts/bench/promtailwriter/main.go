// Command promtailwriter writes Kubernetes pod log files in the CRI format for the promtail
// benchmark (scripts/bench/promtail.sh). Files are laid out as the kubelet lays them out,
// <dir>/<namespace>_<pod>_<uid>/<container>/0.log, and each line is
//
//	2024-01-01T00:00:00.000000000Z stdout F <content>
//
// with realistic mixed content (nginx access lines, JSON and logfmt application logs, Java
// lines; about 236 bytes of content a line).
//
// Three modes:
//
//	promtailwriter -mode create -dir D -files 1000
//	    creates the (empty) files and exits;
//	promtailwriter -mode fill -dir D -files 100 -lines 2000000
//	    writes -lines lines round-robin over -files files as fast as it can, timestamps spread
//	    over the -span before now, then exits;
//	promtailwriter -mode append -dir D -files 1000 -rate 10000 -duration 60s
//	    keeps every file open and appends -rate lines a second in all, spread evenly over the
//	    files, every -tick, stamped with the time of writing, for -duration.
//
// Both print a JSON summary on stdout: lines, raw_bytes (content only, what promtail ships
// after its cri stage), file_bytes, elapsed_seconds and, for append, how far the writer fell
// behind its schedule (it should not: the writer must not be the benchmark's bottleneck).
package main

import (
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"time"
)

func main() {
	if err := run(os.Args[1:], os.Stdout, os.Stderr); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			os.Exit(0)
		}
		fmt.Fprintln(os.Stderr, "promtailwriter:", err)
		os.Exit(1)
	}
}

// config is the command line.
type config struct {
	mode     string
	dir      string
	files    int
	lines    int
	rate     int
	duration time.Duration
	tick     time.Duration
	span     time.Duration
	seed     uint64
}

// summary is the JSON printed at the end.
type summary struct {
	Mode           string  `json:"mode"`
	Files          int     `json:"files"`
	Lines          int64   `json:"lines"`
	RawBytes       int64   `json:"raw_bytes"`
	FileBytes      int64   `json:"file_bytes"`
	ElapsedSeconds float64 `json:"elapsed_seconds"`
	LinesPerSecond float64 `json:"lines_per_second"`
	// MaxLagSeconds is the longest the append writer ran behind its schedule.
	MaxLagSeconds float64 `json:"max_lag_seconds"`
	// BusySeconds is the time the append writer spent writing (the rest it slept).
	BusySeconds float64 `json:"busy_seconds"`
}

func run(args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("promtailwriter", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var c config
	fs.StringVar(&c.mode, "mode", "fill", "create: create the files; fill: write -lines lines and exit; append: append at -rate for -duration.")
	fs.StringVar(&c.dir, "dir", "", "Pods log directory (like /var/log/pods).")
	fs.IntVar(&c.files, "files", 100, "Number of log files.")
	fs.IntVar(&c.lines, "lines", 2_000_000, "fill: lines to write in all.")
	fs.IntVar(&c.rate, "rate", 10_000, "append: lines a second, over all files.")
	fs.DurationVar(&c.duration, "duration", 60*time.Second, "append: how long to write.")
	fs.DurationVar(&c.tick, "tick", 100*time.Millisecond, "append: how often to write a round of lines.")
	fs.DurationVar(&c.span, "span", time.Hour, "fill: the lines' timestamps cover this time before now.")
	fs.Uint64Var(&c.seed, "seed", 1, "Seed of the content.")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if c.dir == "" {
		return errors.New("-dir is required")
	}
	if c.files <= 0 {
		return fmt.Errorf("-files must be positive, got %d", c.files)
	}
	paths, err := makeFiles(c.dir, c.files)
	if err != nil {
		return err
	}
	gen := newGenerator(c.seed)
	var s summary
	switch c.mode {
	case "fill":
		if c.lines <= 0 {
			return fmt.Errorf("-lines must be positive, got %d", c.lines)
		}
		s, err = fill(paths, c, gen)
	case "create":
	case "append":
		if c.rate <= 0 || c.duration <= 0 || c.tick <= 0 {
			return errors.New("-rate, -duration and -tick must be positive")
		}
		s, err = appendLines(paths, c, gen)
	default:
		return fmt.Errorf("unknown -mode %q (create, fill or append)", c.mode)
	}
	if err != nil {
		return err
	}
	s.Mode, s.Files = c.mode, c.files
	if s.ElapsedSeconds > 0 {
		s.LinesPerSecond = float64(s.Lines) / s.ElapsedSeconds
	}
	return json.NewEncoder(stdout).Encode(s)
}

// makeFiles creates the directory tree and returns the n log files' paths (the files exist,
// possibly empty, when it returns). Pods have one to three containers.
func makeFiles(dir string, n int) ([]string, error) {
	containers := []string{"app", "sidecar", "proxy"}
	paths := make([]string, 0, n)
	for pod := 0; len(paths) < n; pod++ {
		ns := namespaces[pod%len(namespaces)]
		app := apps[pod%len(apps)]
		podName := fmt.Sprintf("%s-%07x-%05x", app, 0x5c0ffee+pod*7919, pod*104729%0xfffff)
		uid := fmt.Sprintf("%08x-%04x-4%03x-8%03x-%012x", pod*2654435761%0xffffffff, pod%0xffff, pod%0xfff, (pod*7)%0xfff, uint64(pod)*0x9e3779b97f4a7c15%0xffffffffffff)
		for c := 0; c <= pod%3 && len(paths) < n; c++ {
			d := filepath.Join(dir, ns+"_"+podName+"_"+uid, containers[c])
			if err := os.MkdirAll(d, 0o755); err != nil {
				return nil, fmt.Errorf("create %s: %w", d, err)
			}
			p := filepath.Join(d, "0.log")
			f, err := os.OpenFile(p, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
			if err != nil {
				return nil, fmt.Errorf("create %s: %w", p, err)
			}
			if err := f.Close(); err != nil {
				return nil, fmt.Errorf("close %s: %w", p, err)
			}
			paths = append(paths, p)
		}
	}
	return paths, nil
}

// fill writes c.lines lines round-robin over the files, each file through its own buffer.
func fill(paths []string, c config, gen *generator) (summary, error) {
	var s summary
	start := time.Now()
	files := make([]*os.File, len(paths))
	bufs := make([][]byte, len(paths))
	for i, p := range paths {
		f, err := os.OpenFile(p, os.O_WRONLY|os.O_APPEND, 0)
		if err != nil {
			return s, fmt.Errorf("open %s: %w", p, err)
		}
		files[i] = f
	}
	defer func() {
		for _, f := range files {
			_ = f.Close()
		}
	}()
	first := start.Add(-c.span).UnixNano()
	step := c.span.Nanoseconds() / int64(c.lines)
	if step < 1 {
		step = 1
	}
	const flushAt = 256 << 10
	for i := range c.lines {
		k := i % len(paths)
		ts := time.Unix(0, first+int64(i)*step).UTC()
		before := len(bufs[k])
		var n int
		bufs[k], n = gen.appendCRI(bufs[k], ts)
		s.Lines++
		s.RawBytes += int64(n)
		s.FileBytes += int64(len(bufs[k]) - before)
		if len(bufs[k]) >= flushAt {
			if _, err := files[k].Write(bufs[k]); err != nil {
				return s, fmt.Errorf("write %s: %w", paths[k], err)
			}
			bufs[k] = bufs[k][:0]
		}
	}
	for k, b := range bufs {
		if _, err := files[k].Write(b); err != nil {
			return s, fmt.Errorf("write %s: %w", paths[k], err)
		}
	}
	s.ElapsedSeconds = time.Since(start).Seconds()
	return s, nil
}

// appendLines appends c.rate lines a second over all files for c.duration, one write per file
// per tick, keeping to the schedule (a late tick writes what it owes).
func appendLines(paths []string, c config, gen *generator) (summary, error) {
	var s summary
	files := make([]*os.File, len(paths))
	for i, p := range paths {
		f, err := os.OpenFile(p, os.O_WRONLY|os.O_APPEND, 0)
		if err != nil {
			return s, fmt.Errorf("open %s: %w", p, err)
		}
		files[i] = f
	}
	defer func() {
		for _, f := range files {
			_ = f.Close()
		}
	}()
	start := time.Now()
	total := int64(float64(c.rate) * c.duration.Seconds())
	var buf []byte
	var busy time.Duration
	next := 0 // the file the next line goes to
	for tick := 1; ; tick++ {
		due := start.Add(time.Duration(tick) * c.tick)
		if d := time.Until(due); d > 0 {
			time.Sleep(d)
		} else if lag := -d.Seconds(); lag > s.MaxLagSeconds {
			s.MaxLagSeconds = lag
		}
		t0 := time.Now()
		// Lines owed by the end of this tick.
		owed := min(total, int64(float64(c.rate)*due.Sub(start).Seconds()))
		n := owed - s.Lines
		// Spread n lines over the files round-robin; each file gets one write.
		per := make(map[int]int, min(int(n), len(paths)))
		for range n {
			per[next]++
			next = (next + 1) % len(paths)
		}
		for k, cnt := range per {
			buf = buf[:0]
			for j := range cnt {
				// One nanosecond apart: two equal lines with one timestamp in a stream are one
				// entry to Loki and Sluice (the second is dropped as a duplicate), which the
				// benchmark would count as lost.
				var raw int
				buf, raw = gen.appendCRI(buf, t0.Add(time.Duration(j)).UTC())
				s.RawBytes += int64(raw)
			}
			if _, err := files[k].Write(buf); err != nil {
				return s, fmt.Errorf("write %s: %w", paths[k], err)
			}
			s.FileBytes += int64(len(buf))
			s.Lines += int64(cnt)
		}
		busy += time.Since(t0)
		if s.Lines >= total {
			break
		}
	}
	s.ElapsedSeconds = time.Since(start).Seconds()
	s.BusySeconds = busy.Seconds()
	return s, nil
}
