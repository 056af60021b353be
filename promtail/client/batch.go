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
	// spare are streams of an earlier use of the batch (reset), whose entry slices new
	// streams reuse; req is the request request() fills.
	spare []*logproto.Stream
	req   logproto.PushRequest
}

func newBatch(now time.Time) *batch {
	return &batch{streams: map[string]*logproto.Stream{}, created: now}
}

// reset empties b for reuse as a new batch created at now, keeping its streams' entry slices
// (emptied, so the old lines can be collected) for the next streams it gets.
func (b *batch) reset(now time.Time) {
	for _, k := range b.order {
		s := b.streams[k]
		clear(s.Entries)
		s.Entries = s.Entries[:0]
		b.spare = append(b.spare, s)
	}
	clear(b.streams)
	clear(b.acks)
	b.order, b.acks = b.order[:0], b.acks[:0]
	b.req.Streams = b.req.Streams[:0]
	b.bytes, b.entries, b.created = 0, 0, now
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
		if n := len(b.spare); n > 0 {
			s, b.spare = b.spare[n-1], b.spare[:n-1]
			s.Labels = key
		} else {
			s = &logproto.Stream{Labels: key}
		}
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

// request returns the batch as a push request; it is valid until the batch is reset.
func (b *batch) request() *logproto.PushRequest {
	b.req.Streams = b.req.Streams[:0]
	for _, k := range b.order {
		b.req.Streams = append(b.req.Streams, *b.streams[k])
	}
	return &b.req
}

// done finishes every line of the batch for this destination.
func (b *batch) done() {
	for _, a := range b.acks {
		a.Done()
	}
}
