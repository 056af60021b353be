package logql

import (
	"context"

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
}
