// Package index holds Sluice's label index: which series (streams) exist for a tenant, which label
// pairs select them, and which chunks hold their entries over which time ranges.
//
// The index is a set of tables, one bbolt file per tenant and per day (UTC), laid out as
// <dir>/<tenant>/index_<day>.db where day is the number of whole days since the Unix epoch. A
// table maps label pairs to series (postings lists), series to their labels, and series to
// references of the chunks that hold their entries (ChunkRef) with per-chunk entry and byte counts.
// FORMAT.md beside this file describes the buckets and encodings.
//
// Writing: Open a directory, then Add (one series) or AddBatch (many series, one transaction per
// table) the chunk references a flush produced. A chunk whose time range spans several days is
// recorded in every day's table it overlaps. Tables are opened lazily, cached, and closed when idle
// or when the Index is closed.
//
// Reading: Series, ChunkRefs, LabelNames, LabelValues, Stats and Volume take a tenant, an inclusive
// time range in Unix nanoseconds and Prometheus label matchers with Loki's semantics (a matcher
// that matches the empty string also matches series lacking the label). They read every day table
// the range overlaps in read-only transactions, which run concurrently with a writer, and return
// merged, de-duplicated, sorted results.
//
// A series is identified inside a table by a small sequential ID; across tables and in chunk keys
// by the 64-bit fingerprint of its label set (labels.Labels.Hash). Two label sets whose
// fingerprints collide are kept apart: the table stores each label set and compares it on write.
//
// Tables shipped to object storage are opened read-only with OpenTable (one file) or
// Open(dir, Options{ReadOnly: true}) (a directory of them); ListTables lists the files under a
// directory.
package index
