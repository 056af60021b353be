package client

import (
	"testing"
	"time"

	"github.com/prometheus/common/model"

	"github.com/sluicelog/sluice/pkg/push"
	"github.com/sluicelog/sluice/promtail/entry"
)

// BenchmarkBatchEncode fills a 1 MiB batch from one stream and encodes it as promtail sends it.
func BenchmarkBatchEncode(b *testing.B) {
	line := `level=info msg="request served" path=/api/v1/items status=200 duration=12.5ms user=alice`
	lbls := model.LabelSet{"namespace": "shop", "pod": "checkout-abc", "container": "app", "job": "shop/checkout"}
	key := lbls.String()
	n := (1 << 20) / len(line)
	b.ReportAllocs()
	b.SetBytes(int64(n * len(line)))
	ts := time.Now().UnixNano()
	// As the client does: one encoder, and the batch reset for reuse after each send.
	var enc push.Encoder
	bt := newBatch(time.Now())
	for b.Loop() {
		bt.reset(time.Now())
		for i := 0; i < n; i++ {
			e := entry.New(lbls, key, line, ts+int64(i), ackZero)
			bt.add(&e, key)
		}
		_ = enc.Encode(bt.request())
	}
}

var ackZero = entry.Entry{}.Ack

// TestBatchReset checks that a batch reused after a send holds only what was added since: no
// stream or entry of the earlier use comes back, and the acks are the new ones.
func TestBatchReset(t *testing.T) {
	lblsA := model.LabelSet{"app": "a"}
	lblsB := model.LabelSet{"app": "b"}
	b := newBatch(time.Now())
	for i := 0; i < 3; i++ {
		e := entry.New(lblsA, lblsA.String(), "old", int64(i), ackZero)
		b.add(&e, lblsA.String())
	}
	b.reset(time.Now())
	e := entry.New(lblsB, lblsB.String(), "new", 10, ackZero)
	b.add(&e, lblsB.String())
	req := b.request()
	if len(req.Streams) != 1 || req.Streams[0].Labels != lblsB.String() || len(req.Streams[0].Entries) != 1 ||
		req.Streams[0].Entries[0].Line != "new" || b.entries != 1 || b.bytes != 3 {
		t.Fatalf("after reset: %+v (entries %d, bytes %d), want only the new entry of stream b", req.Streams, b.entries, b.bytes)
	}
}
