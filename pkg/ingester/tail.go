package ingester

import "github.com/sluicelog/sluice/pkg/logproto"

// Tailer receives what the ingester accepted, for live tails (pkg/tail.Registry). Push is
// called on the pushing goroutine once the entries are durable; it must not block and must
// not keep streams past its return (the caller's buffers are reused).
type Tailer interface {
	Push(tenant string, streams []logproto.Stream)
}

// SetTailer makes the ingester hand every accepted push to t. Call it before the first push.
func (i *Ingester) SetTailer(t Tailer) { i.tailer = t }

// tail hands accepted streams to the tailer, if any.
func (i *Ingester) tail(tenant string, accepted []logproto.Stream) {
	if i.tailer != nil && len(accepted) > 0 {
		i.tailer.Push(tenant, accepted)
	}
}
