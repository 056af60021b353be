// Package wal is the ingester's write-ahead log: every accepted push is written here, and
// synced to disk, before the client hears 204, so a crash loses nothing that was acknowledged.
//
// The model, in the order the ingester uses it:
//
//   - At start-up, Replay(ctx, dir, opts, fn) hands fn every record still on disk: the newest
//     checkpoint's records first, then every segment written after it. A torn tail left by a
//     crash is cut off; damage elsewhere is skipped and reported as a *CorruptError.
//   - Open(dir, opts) then starts a new segment, and WAL.Log(ctx, rec) appends a record and
//     returns once it is durable. Concurrent Log calls share one write and one fsync (group
//     commit): a single writer goroutine takes everything logged while it was syncing the
//     previous batch. WAL.LogAppend does the same for a record it lets the caller encode
//     straight into the pending batch (the ingester's pushes), saving a buffer and a copy.
//   - Periodically, and after flushes, WAL.Checkpoint writes the ingester's in-memory state
//     (the unflushed data) as a checkpoint and deletes the segments it covers.
//   - WAL.Close syncs what is pending and stops the writer.
//
// The log itself carries opaque records. The ingester's records are pushes encoded with
// AppendRecord (a tenant and its streams) and read back with a Decoder, which reuses its memory
// between records. FORMAT.md describes every byte of segments, checkpoints and records.
package wal
