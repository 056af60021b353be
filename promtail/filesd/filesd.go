// Package filesd is Prometheus' file-based service discovery (file_sd_configs): files of
// target groups, [{targets: [...], labels: {...}}] in JSON or YAML, found through globs, each
// group becoming a targets.Group whose labels carry __meta_filepath. A Discovery sends the
// groups of every file when it starts and again whenever a file changes, appears or goes;
// relabelling and the __path__ globs are then the scrape's business, as for static_configs.
//
// Prometheus watches the directories with inotify and re-reads every file at
// refresh_interval as a fallback. This module has no inotify dependency, so a Discovery
// stats the matching files at a short check interval (the agent's poll frequency) and reads
// a file again when its size or modification time changed, when it appeared or went, and in
// any case every refresh_interval.
package filesd

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/common/model"
	"gopkg.in/yaml.v3"

	"github.com/sluicelog/sluice/promtail/config"
	"github.com/sluicelog/sluice/promtail/targets"
)

// FilepathLabel is the meta label naming the file a target came from.
const FilepathLabel = model.MetaLabelPrefix + "filepath"

// Metrics count what Prometheus' file discovery counts.
type Metrics struct {
	ReadErrors prometheus.Counter
}

// NewMetrics registers the file discovery metrics with reg (nil: not registered).
func NewMetrics(reg prometheus.Registerer) *Metrics {
	m := &Metrics{ReadErrors: prometheus.NewCounter(prometheus.CounterOpts{Name: "prometheus_sd_file_read_errors_total",
		Help: "The number of file-SD read errors."})}
	if reg != nil {
		reg.MustRegister(m.ReadErrors)
	}
	return m
}

// Discovery follows the files of one file_sd_configs entry.
type Discovery struct {
	patterns []string
	refresh  time.Duration
	check    time.Duration
	metrics  *Metrics
	log      *slog.Logger

	// Owned by Run.
	sent   map[string]int   // groups last sent per file
	stamps map[string]stamp // size and mtime of each file at its last read
	read   time.Time        // when every file was last read
}

type stamp struct {
	size  int64
	mtime time.Time
}

// New builds a discovery of cfg's files, checking them for changes every check.
func New(cfg config.FileSDConfig, check time.Duration, m *Metrics, log *slog.Logger) *Discovery {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	if m == nil {
		m = NewMetrics(nil)
	}
	refresh := cfg.RefreshInterval.D()
	if refresh <= 0 {
		refresh = config.DefaultFileSDRefresh
	}
	if check <= 0 || check > refresh {
		check = min(time.Second, refresh)
	}
	return &Discovery{patterns: cfg.Files, refresh: refresh, check: check, metrics: m, log: log,
		sent: map[string]int{}, stamps: map[string]stamp{}}
}

// Run sends the groups to update at once and after every change until ctx ends.
func (d *Discovery) Run(ctx context.Context, update func([]targets.Group)) {
	for {
		if groups := d.poll(time.Now()); len(groups) > 0 {
			update(groups)
		}
		select {
		case <-ctx.Done():
			return
		case <-time.After(d.check):
		}
	}
}

// poll returns the groups to send: none when nothing changed since the last read.
func (d *Discovery) poll(now time.Time) []targets.Group {
	files := d.files()
	if now.Sub(d.read) < d.refresh && !d.changed(files, now) {
		return nil
	}
	d.read = now
	return d.readAll(files)
}

// files expands the patterns; a bad pattern cannot pass config validation, so its error is
// only logged.
func (d *Discovery) files() map[string]stamp {
	out := map[string]stamp{}
	for _, p := range d.patterns {
		ms, err := filepath.Glob(p)
		if err != nil {
			d.log.Error("file_sd glob", "pattern", p, "err", err)
			continue
		}
		for _, m := range ms {
			fi, err := os.Stat(m)
			if err != nil || !fi.Mode().IsRegular() {
				continue
			}
			out[m] = stamp{size: fi.Size(), mtime: fi.ModTime()}
		}
	}
	return out
}

// settle is how long after its last modification a file is read at every check: a rewrite
// of the same size within one timestamp tick would otherwise go unnoticed until the refresh.
const settle = time.Second

func (d *Discovery) changed(files map[string]stamp, now time.Time) bool {
	if len(files) != len(d.stamps) {
		return true
	}
	for p, st := range files {
		if old, ok := d.stamps[p]; !ok || old != st || now.Sub(st.mtime) < settle {
			return true
		}
	}
	return false
}

// readAll reads every file and returns its groups, plus an empty group for each group a file
// no longer has (or every group of a file that is gone), which removes it. A file that cannot
// be read or parsed keeps its previous groups, as in Prometheus.
func (d *Discovery) readAll(files map[string]stamp) []targets.Group {
	var out []targets.Group
	sent := map[string]int{}
	paths := make([]string, 0, len(files))
	for p := range files {
		paths = append(paths, p)
	}
	sort.Strings(paths)
	for _, p := range paths {
		groups, err := readFile(p)
		if err != nil {
			d.metrics.ReadErrors.Inc()
			d.log.Error("file_sd: read target groups, keeping the previous ones", "file", p, "err", err)
			if n, ok := d.sent[p]; ok {
				sent[p] = n
			}
			continue
		}
		out = append(out, groups...)
		sent[p] = len(groups)
	}
	for p, n := range d.sent {
		for i := sent[p]; i < n; i++ {
			out = append(out, targets.Group{Source: source(p, i)})
		}
	}
	d.sent, d.stamps = sent, files
	return out
}

func source(path string, i int) string { return fmt.Sprintf("%s:%d", path, i) }

// fileGroup is one target group as the file holds it.
type fileGroup struct {
	Targets []string          `json:"targets" yaml:"targets"`
	Labels  map[string]string `json:"labels" yaml:"labels"`
}

// readFile parses the target groups of path by its extension.
func readFile(path string) ([]targets.Group, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var fgs []fileGroup
	switch strings.ToLower(filepath.Ext(path)) {
	case ".json":
		dec := json.NewDecoder(bytes.NewReader(b))
		if err := dec.Decode(&fgs); err != nil {
			return nil, fmt.Errorf("decode json: %w", err)
		}
		if dec.More() {
			return nil, errors.New("decode json: data after the target groups")
		}
	case ".yml", ".yaml":
		dec := yaml.NewDecoder(bytes.NewReader(b))
		dec.KnownFields(true)
		if err := dec.Decode(&fgs); err != nil && !errors.Is(err, io.EOF) {
			return nil, fmt.Errorf("decode yaml: %w", err)
		}
	default:
		return nil, fmt.Errorf("unknown extension %q", filepath.Ext(path))
	}
	out := make([]targets.Group, 0, len(fgs))
	for i, fg := range fgs {
		g := targets.Group{Source: source(path, i), Labels: model.LabelSet{}}
		for k, v := range fg.Labels {
			if !model.UTF8Validation.IsValidLabelName(k) {
				return nil, fmt.Errorf("group %d: invalid label name %q", i, k)
			}
			if !utf8.ValidString(v) {
				return nil, fmt.Errorf("group %d: label %s: value is not valid UTF-8", i, k)
			}
			g.Labels[model.LabelName(k)] = model.LabelValue(v)
		}
		// Set last, as Prometheus does: the file cannot claim to be another.
		g.Labels[FilepathLabel] = model.LabelValue(path)
		for _, t := range fg.Targets {
			g.Targets = append(g.Targets, model.LabelSet{model.AddressLabel: model.LabelValue(t)})
		}
		out = append(out, g)
	}
	return out, nil
}
