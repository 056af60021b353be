// Package chunk is Sluice's storage format for the log entries of one stream: the unit the
// ingester builds in memory, flushes to the object store and the querier reads back.
//
// A chunk is a header, a sequence of independently compressed blocks of about 256 KiB of raw
// entries each, an index holding every block's time range, entry count, location, raw size
// and CRC32-C, a symbol table for the entries' structured metadata, and a fixed trailer.
// FORMAT.md draws the layout byte by byte and records the codec measurements.
//
// The main types:
//
//   - Head is the open chunk in an ingester. Append takes entries in any time order into an
//     unordered head block, which is sorted and compressed into a block when it reaches the
//     block size; Encode produces the final bytes; Iterator reads the unflushed data.
//   - Chunk is an encoded chunk decoded for reading. Decode checks the structure only; blocks
//     are checked and decompressed when an iterator needs them.
//   - Index is the end of a chunk, parsed on its own, so a reader of an object store can fetch
//     the tail and then only the blocks a query's time range needs.
//   - Iterator walks entries of a time range in either direction, implementing
//     iter.EntryIterator. It skips blocks outside the range without decompressing them,
//     merges blocks that overlap in time, applies a line filter before building the entry
//     (Prefilter lets it search whole blocks for a required substring), and does not
//     allocate per entry.
//
// Bad bytes never panic: every decoding error wraps ErrCorrupt.
package chunk
