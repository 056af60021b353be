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
	for b.Loop() {
		bt := newBatch(time.Now())
		for i := 0; i < n; i++ {
			e := entry.New(lbls, key, line, ts+int64(i), ackZero)
			bt.add(&e, key)
		}
		_ = push.Encode(bt.request())
	}
}

var ackZero = entry.Entry{}.Ack
