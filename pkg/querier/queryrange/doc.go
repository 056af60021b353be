// Package queryrange is the query frontend: it wraps an api.Engine and answers long range
// queries by splitting them into sub-queries, running those in parallel, caching the results
// of metric sub-queries over closed intervals, and merging the pieces back into one result.
//
// What goes in is an api.QueryRequest; what comes out is an api.QueryResult equal to what the
// wrapped engine would have returned for the whole range. Frontend is the main type; Config
// is its part of the server's YAML (Loki's query_range block).
//
// Splitting follows Loki:
//
//   - Log queries are cut at multiples of the tenant's split_queries_by_interval. Sub-ranges
//     are half-open [start, end), so no entry is read twice. They are consumed in the query's
//     direction (newest first for backward) and the frontend stops asking for more once the
//     limit is reached.
//   - Metric range queries are step-aligned (start rounded down, end rounded up to a multiple
//     of the step) and cut so that every evaluation time belongs to exactly one sub-query.
//     A range aggregation looks back from its evaluation time, so each point is computed from
//     the same data as in the whole query, and concatenating the sub-results is exact for
//     every LogQL function, including topk, sort and binary operations, which the engine
//     evaluates one step at a time.
//   - Instant metric queries are split by range instead, by the tenant's
//     split_instant_metric_queries_by_interval: sum(count_over_time({...}[24h])) at T runs
//     as 24 instant queries at T over [1h] windows with offsets 0, 1h, ... 23h, whose vectors
//     are added series by series. Only range aggregations with an exact merge are split
//     (counts, sums and rates add up; max_over_time and min_over_time take the max and min),
//     optionally inside a sum, max or min that merges the same way; anything else runs whole.
//
// A metric sub-query whose last evaluation time is older than now minus the tenant's
// max_cache_freshness_per_query cannot change any more (short of very late out-of-order writes, the same bet Loki
// makes), so its result is kept in a byte-bounded LRU cache keyed by tenant, query, step and
// sub-range.
//
// Before any of that, the frontend checks the query's text against the tenant's limits on
// stream selectors and ranges (check.go), as Loki's frontend and queriers do, and, given the
// index's statistics (SetIndexStats), refuses a query the index says would read more than the
// tenant's max_query_bytes_read, and each sub-query more than max_querier_bytes_read
// (size.go).
package queryrange
