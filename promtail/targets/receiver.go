package targets

import (
	"context"
	"log/slog"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/common/model"
	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/model/relabel"

	"github.com/sluicelog/sluice/promtail/client"
	"github.com/sluicelog/sluice/promtail/entry"
	"github.com/sluicelog/sluice/promtail/stages"
)

// Receiver is the common tail of the targets that are sent entries over the network (syslog,
// loki_push_api) instead of reading files: it applies the scrape config's relabel_configs to
// each entry's labels, checks limits_config, and runs the entry through the scrape config's
// pipeline into the clients.
//
// All of a scrape config's entries go through one pipeline, one at a time, as in promtail
// (where a target's entries share one channel): stages that keep state (multiline, limit,
// metrics) see every entry of the job. Send is safe for concurrent use.
type Receiver struct {
	relabel []*relabel.Config
	send    client.Sender
	limits  Limits
	log     *slog.Logger

	mu   sync.Mutex
	p    *stages.Pipeline // nil without stages
	emit stages.Emit
}

// NewReceiver builds the receiver of one scrape config; tmpl may be nil.
func NewReceiver(relabelConfigs []*relabel.Config, tmpl *stages.Template, send client.Sender, limits Limits, log *slog.Logger) *Receiver {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	r := &Receiver{relabel: relabelConfigs, send: send, limits: limits, log: log}
	if tmpl != nil {
		if p := tmpl.New(); p.Len() > 0 {
			r.p = p
		}
	}
	r.emit = func(ctx context.Context, it stages.Item) error { return r.send.Send(ctx, it.Entry) }
	return r
}

// Labels applies relabel_configs to b and returns the labels an entry is sent with: every
// label not starting with "__" (promtail drops those after relabelling), plus __tenant_id__,
// which the clients turn into the push's tenant. ok is false when relabelling dropped the
// entry or left it no label (a push with an empty label set is refused by the server).
func (r *Receiver) Labels(b *labels.Builder) (ls model.LabelSet, ok bool) {
	if !relabel.ProcessBuilder(b, r.relabel...) {
		return nil, false
	}
	ls = model.LabelSet{}
	named := false
	b.Range(func(l labels.Label) {
		switch {
		case l.Name == entry.ReservedLabelTenantID:
			ls[model.LabelName(l.Name)] = model.LabelValue(l.Value)
		case strings.HasPrefix(l.Name, "__"):
		default:
			ls[model.LabelName(l.Name)] = model.LabelValue(l.Value)
			named = true
		}
	})
	return ls, named
}

// Send checks e's line against limits_config and runs it through the pipeline into the
// clients. It blocks while the clients are busy (back-pressure) and returns ctx's error if ctx
// ends first; an entry dropped by a limit or a stage is not an error.
func (r *Receiver) Send(ctx context.Context, e entry.Entry) error {
	line, keep, err := r.limits.apply(ctx, e.Line)
	if err != nil || !keep {
		return err
	}
	e.Line = line
	if r.p == nil {
		return r.send.Send(ctx, e)
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.p.Process(ctx, e, r.emit)
}

// Run releases the entries stages hold back (multiline's max_wait_time) every interval until
// ctx ends, then once more, within flushTimeout, for what is still held: run it before the
// clients stop.
func (r *Receiver) Run(ctx context.Context, interval, flushTimeout time.Duration) {
	if r.p == nil {
		return
	}
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			final, cancel := context.WithTimeout(context.Background(), flushTimeout)
			defer cancel()
			r.flush(final, time.Now().Add(24*time.Hour))
			return
		case now := <-t.C:
			r.flush(ctx, now)
		}
	}
}

func (r *Receiver) flush(ctx context.Context, now time.Time) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if err := r.p.Flush(ctx, now, r.emit); err != nil && ctx.Err() == nil {
		r.log.Warn("flush pipeline", "err", err)
	}
}
