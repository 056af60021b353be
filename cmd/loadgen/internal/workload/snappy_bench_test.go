package workload

import (
	"testing"

	"github.com/klauspost/compress/s2"

	"github.com/sluicelog/sluice/pkg/logproto"
	"github.com/sluicelog/sluice/pkg/push"
)

// BenchmarkPushBodies encodes and decodes push bodies of the storage benchmark's lines (1 MiB
// of lines a request, as loadgen sends them) with s2's standard snappy encoder, which push.Encode
// uses, and its "better" one (klauspost's snappy.Encode), reporting the compression ratio. MB/s
// counts the protobuf bytes.
func BenchmarkPushBodies(b *testing.B) {
	g := newGen(b, 1, 40000)
	var bodies [][]byte
	req := &logproto.PushRequest{}
	byStream, size := map[int]int{}, 0
	for {
		s, ts, line, ok := g.Next()
		if !ok {
			break
		}
		i, found := byStream[s]
		if !found {
			i = len(req.Streams)
			byStream[s] = i
			req.Streams = append(req.Streams, logproto.Stream{Labels: g.Streams()[s].Labels})
		}
		req.Streams[i].Entries = append(req.Streams[i].Entries, logproto.Entry{Timestamp: ts, Line: line})
		if size += len(line); size >= 1<<20 {
			bodies = append(bodies, push.AppendProto(nil, req))
			req, byStream, size = &logproto.PushRequest{}, map[int]int{}, 0
		}
	}
	raw := 0
	for _, p := range bodies {
		raw += len(p)
	}
	for _, enc := range []struct {
		name string
		f    func(dst, src []byte) []byte
	}{{"standard", s2.EncodeSnappy}, {"better", s2.EncodeSnappyBetter}} {
		var encoded [][]byte
		stored := 0
		for _, p := range bodies {
			e := enc.f(nil, p)
			encoded = append(encoded, e)
			stored += len(e)
		}
		b.Run(enc.name+"/encode", func(b *testing.B) {
			b.SetBytes(int64(raw))
			dst := make([]byte, s2.MaxEncodedLen(2<<20))
			for b.Loop() {
				for _, p := range bodies {
					enc.f(dst, p)
				}
			}
			b.ReportMetric(float64(raw)/float64(stored), "ratio")
		})
		b.Run(enc.name+"/decode", func(b *testing.B) {
			b.SetBytes(int64(raw))
			dst := make([]byte, 4<<20)
			for b.Loop() {
				for _, e := range encoded {
					if _, err := s2.Decode(dst, e); err != nil {
						b.Fatal(err)
					}
				}
			}
		})
	}
}
