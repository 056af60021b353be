package targets

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/bmatcuk/doublestar/v4"
	"github.com/prometheus/common/model"
	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/model/relabel"

	"github.com/sluicelog/sluice/promtail/client"
	"github.com/sluicelog/sluice/promtail/config"
	"github.com/sluicelog/sluice/promtail/stages"
	"github.com/sluicelog/sluice/promtail/tail"
)

// Label names with a meaning for file targets.
const (
	PathLabel        = "__path__"
	PathExcludeLabel = "__path_exclude__"
	FilenameLabel    = "filename"
	// HostLabel set on a target keeps it only on the node of that name (promtail's standard
	// Kubernetes config sets it from __meta_kubernetes_pod_node_name).
	HostLabel = "__host__"
)

// Group is a set of targets from one source (a static config, a pod).
type Group struct {
	Source  string
	Targets []model.LabelSet
	Labels  model.LabelSet // common to every target
}

// Scrape follows one scrape config's targets.
type Scrape struct {
	job     string
	relabel []*relabel.Config
	tmpl    *stages.Template
	send    client.Sender
	tail    *tail.Manager
	limits  Limits
	log     *slog.Logger

	mu     sync.Mutex
	groups map[string]Group
	dirty  chan struct{}

	watched  map[string]bool // paths handed to tail (owned by Run)
	hostname string
	dirs     *dirCache // directory listings kept between rounds (owned by Run)
}

// NewScrape builds the scrape of sc; its static_configs are added at once.
func NewScrape(sc config.ScrapeConfig, tmpl *stages.Template, send client.Sender, tm *tail.Manager, limits Limits, log *slog.Logger) *Scrape {
	s := &Scrape{job: sc.JobName, relabel: sc.RelabelConfigs, tmpl: tmpl, send: send, tail: tm, limits: limits,
		log: log.With("job", sc.JobName), groups: map[string]Group{}, dirty: make(chan struct{}, 1), watched: map[string]bool{},
		hostname: Hostname(), dirs: newDirCache()}
	for i, st := range sc.StaticConfigs {
		g := Group{Source: fmt.Sprintf("static/%d", i), Labels: model.LabelSet{}}
		for k, v := range st.Labels {
			g.Labels[model.LabelName(k)] = model.LabelValue(v)
		}
		targets := st.Targets
		if len(targets) == 0 {
			targets = []string{"localhost"}
		}
		for _, t := range targets {
			g.Targets = append(g.Targets, model.LabelSet{model.AddressLabel: model.LabelValue(t)})
		}
		s.groups[g.Source] = g
	}
	return s
}

// Update replaces the target groups of their sources (an empty group removes its source).
func (s *Scrape) Update(groups []Group) {
	s.mu.Lock()
	for _, g := range groups {
		if len(g.Targets) == 0 {
			delete(s.groups, g.Source)
		} else {
			s.groups[g.Source] = g
		}
	}
	s.mu.Unlock()
	select {
	case s.dirty <- struct{}{}:
	default:
	}
}

// Target is a relabelled target: its labels (without the "__" ones) and its path globs.
type Target struct {
	Labels  model.LabelSet
	Path    string
	Exclude string
	Host    string
}

// Targets returns the relabelled targets, sorted by path.
func (s *Scrape) Targets() []Target {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []Target
	for _, g := range s.groups {
		for _, t := range g.Targets {
			b := labels.NewBuilder(labels.EmptyLabels())
			for k, v := range g.Labels {
				b.Set(string(k), string(v))
			}
			for k, v := range t {
				b.Set(string(k), string(v))
			}
			if !relabel.ProcessBuilder(b, s.relabel...) {
				continue
			}
			ls := b.Labels()
			tg := Target{Labels: model.LabelSet{}}
			ls.Range(func(l labels.Label) {
				switch {
				case l.Name == PathLabel:
					tg.Path = l.Value
				case l.Name == PathExcludeLabel:
					tg.Exclude = l.Value
				case l.Name == HostLabel:
					tg.Host = l.Value
				case l.Name == "__tenant_id__":
					tg.Labels[model.LabelName(l.Name)] = model.LabelValue(l.Value)
				case strings.HasPrefix(l.Name, "__"):
				default:
					tg.Labels[model.LabelName(l.Name)] = model.LabelValue(l.Value)
				}
			})
			if tg.Path == "" || (tg.Host != "" && s.hostname != "" && tg.Host != s.hostname) {
				continue
			}
			out = append(out, tg)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Path < out[j].Path })
	return out
}

// Run re-expands the globs every interval (and at once after Update) until ctx ends. The
// interval is short (the poll frequency) so new files are picked up at once; a directory
// cache keeps a round to one listing per directory.
func (s *Scrape) Run(ctx context.Context, interval time.Duration) {
	s.dirs.startWatch()
	defer s.dirs.close()
	for {
		s.sync()
		select {
		case <-ctx.Done():
			return
		case <-s.dirty:
		case <-time.After(interval):
		}
	}
}

func (s *Scrape) sync() {
	now := map[string]bool{}
	dc := s.dirs
	dc.newRound()
	for _, t := range s.Targets() {
		matches, err := s.glob(dc, t.Path)
		if err != nil {
			s.log.Warn("bad __path__ glob", "path", t.Path, "err", err)
			continue
		}
		for _, p := range matches {
			if t.Exclude != "" {
				if ok, _ := doublestar.PathMatch(t.Exclude, p); ok {
					continue
				}
			}
			if now[p] {
				continue
			}
			// A path still listed that was a regular file last round is taken as one: a stat
			// per file per round was a fifth of an idle promtail's CPU. A file replaced since
			// is the tail manager's to notice (rotation).
			if !s.watched[p] {
				if fi, err := os.Stat(p); err != nil || !fi.Mode().IsRegular() {
					continue
				}
			}
			now[p] = true
			base := t.Labels
			s.tail.Add(p, func() tail.Sink {
				ls := base.Clone()
				ls[FilenameLabel] = model.LabelValue(p)
				var pl *stages.Pipeline
				if s.tmpl != nil {
					pl = s.tmpl.New()
				}
				return newFileSink(ls, pl, s.send, s.limits)
			})
		}
	}
	for p := range s.watched {
		if now[p] {
			continue
		}
		// A deleted file is left to the tail manager, which reads it to its end first;
		// only a file that still exists but is no longer a target is let go.
		if _, err := os.Stat(p); err == nil {
			s.tail.Remove(p)
		}
	}
	s.watched = now
}

// Hostname is the node name targets' __host__ is compared with: $HOSTNAME, else the kernel's.
func Hostname() string {
	if h := os.Getenv("HOSTNAME"); h != "" {
		return h
	}
	h, _ := os.Hostname()
	return h
}

// glob expands an absolute pattern through the per-sync directory cache (relative patterns
// go to the filesystem directly).
func (s *Scrape) glob(dc *dirCache, pattern string) ([]string, error) {
	rel, ok := relative(pattern)
	if !ok {
		return doublestar.FilepathGlob(pattern, doublestar.WithFilesOnly())
	}
	if !doublestar.ValidatePattern(rel) {
		return nil, fmt.Errorf("invalid glob %q", pattern)
	}
	ms, err := doublestar.Glob(dc, rel, doublestar.WithFilesOnly())
	if err != nil {
		return nil, err
	}
	for i, m := range ms {
		ms[i] = "/" + m
	}
	return ms, nil
}
