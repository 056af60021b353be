package index

import (
	"github.com/prometheus/prometheus/model/labels"
)

// The functions below compute Stats and Volume from chunk lists rather than tables: for a caller
// that merges the answers of several indexes (the local tables and those shipped by other
// nodes) with ChunkRefs and needs the same summaries Index.Stats and Index.Volume give.

// StatsOf returns the Stats of the chunks of series that overlap [from, through], as Index.Stats
// counts them. series must list each chunk once (ChunkRefs' answers merged without duplicates).
func StatsOf(series []SeriesChunks, from, through int64) Stats {
	var st Stats
	for i := range series {
		found := false
		for j := range series[i].Chunks {
			ref := &series[i].Chunks[j]
			if !overlaps(ref.From, ref.Through, from, through) {
				continue
			}
			found = true
			b, e := prorate(ref, from, through)
			st.Chunks++
			st.Bytes += b
			st.Entries += e
		}
		if found {
			st.Streams++
		}
	}
	return st
}

// VolumeMatchers returns the matchers that select the series a Volume request over ms covers
// (with target labels, each must be present), or an error for a bad request.
func VolumeMatchers(req VolumeRequest, ms []*labels.Matcher) ([]*labels.Matcher, error) {
	return checkVolumeRequest(req, ms)
}

// VolumeOf returns what Index.Volume(from, through, req, ms) returns, computed from series:
// the chunks that VolumeMatchers(req, ms) select, each listed once.
func VolumeOf(series []SeriesChunks, from, through int64, req VolumeRequest, ms ...*labels.Matcher) ([]Volume, error) {
	if _, err := checkVolumeRequest(req, ms); err != nil {
		return nil, err
	}
	q := &volumeQuery{from: from, through: through, ms: ms, bySeries: map[string]uint64{}}
	for i := range series {
		var bytes uint64
		counted := false
		for j := range series[i].Chunks {
			ref := &series[i].Chunks[j]
			if ref.Entries == 0 || !overlaps(ref.From, ref.Through, from, through) {
				continue
			}
			b, _ := prorate(ref, from, through)
			bytes += b
			counted = true
		}
		if counted {
			q.bySeries[string(appendLabels(nil, series[i].Labels))] += bytes
		}
	}
	return q.result(req)
}
