package client

import (
	"time"

	"github.com/sluicelog/sluice/pkg/logproto"
	"github.com/sluicelog/sluice/promtail/ack"
	"github.com/sluicelog/sluice/promtail/entry"
)

// batch collects the entries of one tenant until it is big or old enough to send.
type batch struct {
	streams map[string]*logproto.Stream
	order   []string // stream keys in first-seen order, for a stable request.
	acks    []ack.Ack
	bytes   int
	entries int
	created time.Time
}

func newBatch(now time.Time) *batch {
	return &batch{streams: map[string]*logproto.Stream{}, created: now}
}

// entrySize is what counts toward batchsize: the line and structured metadata, as promtail.
func entrySize(e *entry.Entry) int {
	n := len(e.Line)
	e.StructuredMetadata.Range(func(l labelsLabel) { n += len(l.Name) + len(l.Value) })
	return n
}

func (b *batch) add(e *entry.Entry, key string) {
	s, ok := b.streams[key]
	if !ok {
		s = &logproto.Stream{Labels: key}
		b.streams[key] = s
		b.order = append(b.order, key)
	}
	s.Entries = append(s.Entries, e.Entry)
	if !e.Ack.IsZero() {
		b.acks = append(b.acks, e.Ack)
	}
	b.bytes += entrySize(e)
	b.entries++
}

func (b *batch) request() *logproto.PushRequest {
	req := &logproto.PushRequest{Streams: make([]logproto.Stream, 0, len(b.order))}
	for _, k := range b.order {
		req.Streams = append(req.Streams, *b.streams[k])
	}
	return req
}

// done finishes every line of the batch for this destination.
func (b *batch) done() {
	for _, a := range b.acks {
		a.Done()
	}
}
