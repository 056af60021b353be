package logql

import (
	"context"
	"fmt"
	"sort"
	"strings"

	"github.com/prometheus/prometheus/model/labels"

	"github.com/sluicelog/sluice/pkg/logproto"
	"github.com/sluicelog/sluice/pkg/logql/log"
	"github.com/sluicelog/sluice/pkg/logql/syntax"
)

// execLogs runs a log query: select, run the pipeline per entry, group by final labels.
func (e *Engine) execLogs(ctx context.Context, sel *syntax.LogSelector, p Params, c *counters) (Streams, error) {
	ms, err := selectorMatchers(sel)
	if err != nil {
		return nil, err
	}
	filter, needle, err := lineFilterFunc(sel)
	if err != nil {
		return nil, err
	}
	pipe, err := buildPipeline(sel)
	if err != nil {
		return nil, err
	}
	it, err := e.q.SelectLogs(ctx, SelectLogParams{
		Matchers: ms, Start: p.Start, End: p.End, Direction: p.Direction, LineFilter: filter, Needle: needle,
	})
	if err != nil {
		return nil, fmt.Errorf("select logs: %w", err)
	}
	cit := &countingIterator{EntryIterator: it, c: c}
	defer it.Close()

	type streamAcc struct {
		stream logproto.Stream
	}
	// last is the timestamp of the last entry kept, for Interval. As in Loki it is one for the
	// whole query, not one per stream.
	var last int64
	byKey := map[string]*streamAcc{}
	pipes := map[uint64]log.StreamPipeline{} // by StreamHash: cheaper than pipe.ForStream per entry
	var n uint32
	for cit.Next() {
		if n&1023 == 0 {
			if err := ctx.Err(); err != nil {
				return nil, err
			}
		}
		ent := cit.At()
		sp, found := pipes[cit.StreamHash()]
		if !found {
			sp = pipe.ForStream(cit.Labels())
			pipes[cit.StreamHash()] = sp
		}
		line, res, keep := sp.ProcessString(ent.Timestamp, ent.Line, ent.StructuredMetadata)
		if !keep {
			continue
		}
		key := res.String()
		if p.CategorizeLabels {
			key = res.Stream().String()
		}
		if p.Interval > 0 && n > 0 {
			d := ent.Timestamp - last
			if p.Direction == logproto.Backward {
				d = -d
			}
			if d < int64(p.Interval) {
				continue
			}
		}
		last = ent.Timestamp
		acc := byKey[key]
		if acc == nil {
			acc = &streamAcc{stream: logproto.Stream{Labels: key}}
			byKey[key] = acc
		}
		out := logproto.Entry{Timestamp: ent.Timestamp, Line: strings.Clone(line)}
		if p.CategorizeLabels {
			out.StructuredMetadata = cloneLabels(res.StructuredMetadata())
			out.Parsed = cloneLabels(res.Parsed())
		}
		acc.stream.Entries = append(acc.stream.Entries, out)
		n++
		if p.Limit > 0 && n >= p.Limit {
			break
		}
	}
	if err := cit.Err(); err != nil {
		return nil, fmt.Errorf("read logs: %w", err)
	}
	out := make(Streams, 0, len(byKey))
	for _, acc := range byKey {
		out = append(out, acc.stream)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Labels < out[j].Labels })
	return out, nil
}

// cloneLabels copies ls so that none of its strings alias a buffer the iterator reuses.
func cloneLabels(ls labels.Labels) labels.Labels {
	if ls.IsEmpty() {
		return labels.EmptyLabels()
	}
	b := labels.NewScratchBuilder(ls.Len())
	ls.Range(func(l labels.Label) { b.Add(strings.Clone(l.Name), strings.Clone(l.Value)) })
	return b.Labels()
}
