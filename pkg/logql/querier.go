package logql

import (
	"context"
	"fmt"
	"strings"

	"github.com/prometheus/prometheus/model/labels"

	"github.com/sluicelog/sluice/pkg/iter"
	"github.com/sluicelog/sluice/pkg/logproto"
)

// Querier is where the engine reads log entries from: the querier merges the ingesters' unflushed
// data with the chunk store behind it.
type Querier interface {
	// SelectLogs returns the entries of every stream matching p.Matchers with
	// p.Start <= timestamp < p.End, merged into one sequence in p.Direction order (ties broken by
	// stream labels), without duplicates (same stream, timestamp and line).
	SelectLogs(ctx context.Context, p SelectLogParams) (iter.EntryIterator, error)
}

// SelectLogParams says which entries SelectLogs returns.
type SelectLogParams struct {
	Matchers  []*labels.Matcher
	Start     int64 // Unix ns, inclusive
	End       int64 // Unix ns, exclusive
	Direction logproto.Direction
	// LineFilter, when not nil, is the query's leading line filters pushed down to the store:
	// entries for which it returns false may be skipped before they are materialised.
	// It must be safe to call from several goroutines.
	LineFilter func(line []byte) bool
	// Needle, when not nil, is a string every line LineFilter accepts contains (the longest
	// of the query's leading `|= "..."` filters, or a literal a leading `|~` regexp needs).
	// A store may skip lines, and whole blocks, that do not contain it without calling
	// LineFilter.
	Needle []byte
	// NoLinesBefore says the caller reads no Line of the entries before this time (Unix ns;
	// 0, or anything up to Start: every entry's line is read). A Querier may return such
	// entries with an empty Line, where it needs no line to keep its answer free of
	// duplicates. The engine sets it to End for a range aggregation that only counts entries
	// (countsOnly); a querier that merges sources lowers it to where their answers may
	// overlap, since telling a duplicate from an entry with the same timestamp takes the line.
	NoLinesBefore int64
	// MaxChunks, when positive, is the most stored chunks the selection may read (Loki's
	// max_chunks_per_query): a store refuses a selection of more with a *ChunkLimitError.
	MaxChunks int
}

// ChunkLimitError is a store's refusal of a selection that would read more stored chunks than
// SelectLogParams.MaxChunks. Its message is Loki's.
type ChunkLimitError struct {
	Matchers []*labels.Matcher
	Chunks   int
	Limit    int
}

func (e *ChunkLimitError) Error() string {
	// Loki prints the matchers as a Go slice: [app="api" env=~"prod.*"].
	ms := make([]string, len(e.Matchers))
	for i, m := range e.Matchers {
		ms[i] = m.String()
	}
	return fmt.Sprintf("Query [%s] fetched too many chunks (%d > %d)", strings.Join(ms, " "), e.Chunks, e.Limit)
}
