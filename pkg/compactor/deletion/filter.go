package deletion

import (
	"context"
	"fmt"

	"github.com/prometheus/prometheus/model/labels"
)

// DeleteFilter tells the querier which entries of a query over [from, through] (Unix ns,
// inclusive) the tenant's delete requests hide. It returns nil when no request overlaps the
// range, so most queries pay nothing. Otherwise the returned function gives, for a stream's
// labels, nil when no request selects the stream, or a function reporting whether an entry of
// the stream is deleted. The functions are safe for concurrent use.
func (s *Store) DeleteFilter(_ context.Context, tenant string, from, through int64) (func(labels.Labels) func(ts int64, line []byte) bool, error) {
	if s == nil {
		return nil, nil
	}
	if s.shared != nil && !s.shared.owner && !s.Synced() {
		// Answering without the requests would show deleted lines.
		return nil, fmt.Errorf("filter deleted lines: %w", ErrNotSynced)
	}
	reqs := s.Active(tenant, from, through)
	if len(reqs) == 0 {
		return nil, nil
	}
	return func(lbls labels.Labels) func(int64, []byte) bool { return EntryFilter(reqs, lbls) }, nil
}
