package ingester

import (
	"context"
	"sort"

	"github.com/prometheus/prometheus/model/labels"
)

// StreamStats is what one in-memory stream holds over a time range that the store does not
// have yet: its unflushed chunks (sealed or open) that overlap the range.
type StreamStats struct {
	Labels labels.Labels
	// Chunks counts the unflushed chunks overlapping the range, the open head included.
	Chunks uint64
	// Bytes and Entries add up those chunks' uncompressed bytes and entries. A chunk only partly
	// inside the range contributes the share of its time span that is inside, as the index
	// estimates it for stored chunks.
	Bytes   uint64
	Entries uint64
}

// UnflushedStats returns, for each of the tenant's in-memory streams matching matchers, the
// unflushed data overlapping [from, through] (both inclusive, as index stats are). Flushed
// chunks still retained (chunk_retain_period) are left out: the store's index counts them.
// Streams with nothing unflushed in the range are left out. The result is sorted by labels.
func (i *Ingester) UnflushedStats(ctx context.Context, tenant string, from, through int64, matchers []*labels.Matcher) []StreamStats {
	inst := i.instanceIfExists(tenant)
	if inst == nil {
		return nil
	}
	var out []StreamStats
	for _, s := range inst.streamsMatching(matchers) {
		if ctx.Err() != nil {
			return out
		}
		st := StreamStats{Labels: s.labels}
		s.mu.Lock()
		for _, sc := range s.closed {
			if sc.flushed {
				continue
			}
			minT, maxT := sc.c.Bounds()
			st.add(minT, maxT, uint64(sc.bytes), uint64(sc.c.Entries()), from, through)
		}
		if s.head != nil && s.head.Entries() > 0 {
			minT, maxT := s.head.Bounds()
			st.add(minT, maxT, uint64(s.head.UncompressedSize()), uint64(s.head.Entries()), from, through)
		}
		s.mu.Unlock()
		if st.Chunks > 0 {
			out = append(out, st)
		}
	}
	sort.Slice(out, func(a, b int) bool { return labels.Compare(out[a].Labels, out[b].Labels) < 0 })
	return out
}

// add counts one chunk spanning [minT, maxT] if it overlaps [from, through].
func (st *StreamStats) add(minT, maxT int64, bytes, entries uint64, from, through int64) {
	if maxT < from || minT > through {
		return
	}
	st.Chunks++
	if minT >= from && maxT <= through {
		st.Bytes += bytes
		st.Entries += entries
		return
	}
	// Subtract before converting: Unix nanoseconds do not fit a float64 exactly.
	span := float64(maxT-minT) + 1
	in := float64(min(through, maxT)-max(from, minT)) + 1
	f := in / span
	st.Bytes += uint64(float64(bytes) * f)
	st.Entries += uint64(float64(entries) * f)
}
