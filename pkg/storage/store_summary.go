package storage

import (
	"context"

	"github.com/prometheus/prometheus/model/labels"

	"github.com/sluicelog/sluice/pkg/index"
)

// Stats returns the streams, chunks, bytes and entries of the stored series of tenant that ms
// select over [from, through] (Unix ns, inclusive; Loki's /index/stats), from every index the
// store reads: with shipped tables, those too.
func (s *Store) Stats(ctx context.Context, tenant string, from, through int64, ms ...*labels.Matcher) (index.Stats, error) {
	if s.reader == IndexReader(s.index) {
		return s.index.Stats(ctx, tenant, from, through, ms...)
	}
	series, err := s.reader.ChunkRefs(ctx, tenant, from, through, ms...)
	if err != nil {
		return index.Stats{}, err
	}
	return index.StatsOf(series, from, through), nil
}

// Volume returns the uncompressed bytes over [from, through] of the stored series of tenant that
// ms select, grouped as req says (Loki's /index/volume), from every index the store reads.
func (s *Store) Volume(ctx context.Context, tenant string, from, through int64, req index.VolumeRequest, ms ...*labels.Matcher) ([]index.Volume, error) {
	if s.reader == IndexReader(s.index) {
		return s.index.Volume(ctx, tenant, from, through, req, ms...)
	}
	run, err := index.VolumeMatchers(req, ms)
	if err != nil {
		return nil, err
	}
	series, err := s.reader.ChunkRefs(ctx, tenant, from, through, run...)
	if err != nil {
		return nil, err
	}
	return index.VolumeOf(series, from, through, req, ms...)
}
