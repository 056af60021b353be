package targets

import (
	"context"
	"time"
	"unicode/utf8"

	"github.com/prometheus/common/model"

	"github.com/sluicelog/sluice/promtail/ack"
	"github.com/sluicelog/sluice/promtail/client"
	"github.com/sluicelog/sluice/promtail/entry"
	"github.com/sluicelog/sluice/promtail/stages"
	"github.com/sluicelog/sluice/promtail/tail"
)

// Limits are the limits_config checks applied to every line.
type Limits struct {
	MaxLineSize         int
	MaxLineSizeTruncate bool
	// Readline, when set, limits the lines read per second across all files.
	Readline *RateLimiter
}

// fileSink runs one file's lines through its pipeline into the clients.
type fileSink struct {
	labels model.LabelSet
	key    string
	p      *stages.Pipeline
	send   client.Sender
	limits Limits
	emit   stages.Emit
}

var _ tail.Sink = (*fileSink)(nil)

func newFileSink(labels model.LabelSet, p *stages.Pipeline, send client.Sender, limits Limits) *fileSink {
	s := &fileSink{labels: labels, key: labels.String(), p: p, send: send, limits: limits}
	s.emit = func(ctx context.Context, it stages.Item) error { return s.send.Send(ctx, it.Entry) }
	return s
}

// apply checks line against the limits: it returns the line to send (cut when
// max_line_size_truncate is set), or keep false for a line to drop, or ctx's error.
func (l Limits) apply(ctx context.Context, line string) (out string, keep bool, err error) {
	if rl := l.Readline; rl != nil && !rl.Allow(ctx) {
		if err := ctx.Err(); err != nil {
			return "", false, err
		}
		return "", false, nil
	}
	if max := l.MaxLineSize; max > 0 && len(line) > max {
		if !l.MaxLineSizeTruncate {
			return "", false, nil
		}
		// Cut at a rune boundary so a truncated line stays valid UTF-8.
		for max > 0 && !utf8.RuneStart(line[max]) {
			max--
		}
		line = line[:max]
	}
	return line, true, nil
}

func (s *fileSink) Line(ctx context.Context, line string, ts time.Time, a ack.Ack) error {
	line, keep, err := s.limits.apply(ctx, line)
	if err != nil {
		return err
	}
	if !keep {
		a.Drop()
		return nil
	}
	e := entry.New(s.labels, s.key, line, ts.UnixNano(), a)
	if s.p == nil || s.p.Len() == 0 {
		return s.send.Send(ctx, e)
	}
	return s.p.Process(ctx, e, s.emit)
}

func (s *fileSink) Flush(ctx context.Context, now time.Time) error {
	if s.p == nil {
		return nil
	}
	return s.p.Flush(ctx, now, s.emit)
}

func (s *fileSink) Close() {}
