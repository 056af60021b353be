// Package compactor applies retention and log deletion to stored data, as Loki's compactor
// does. It runs in the process whose target includes the compactor: the single binary
// (-target=all) or a standalone compactor (-target=compactor or backend), exactly one per bucket.
//
// Every compaction_interval the Compactor walks the index tables (one per tenant per day, see
// package index). For each chunk of each series it decides, from the tenant's limits
// (retention_period, retention_stream) and the delete requests whose cancel period is over
// (package deletion), whether the chunk expired or is wholly deleted (drop it), partly deleted
// (rewrite it without the deleted lines) or kept. Only the requests of tenants whose
// deletion_mode is filter-and-delete are applied; with filter-only they just hide their lines
// from queries.
//
// Nothing referenced is ever deleted, and a crash at any point is safe, because the work is
// ordered mark-then-sweep:
//
//  1. A rewritten chunk is written first, object then index entry (storage.Store.PutChunk).
//  2. The keys of the chunks to drop are written to a marker file in the working directory
//     (written to a temporary name, synced, then renamed).
//  3. Their index entries are removed (one bbolt transaction per table). From now on no new
//     query finds them; queries already running may still read the objects.
//  4. After retention_delete_delay, the sweeper deletes the objects named in a marker, skipping
//     any chunk some table still references, then removes the marker.
//
// A crash before 3 leaves a marker whose chunks are still referenced: the sweeper skips them and
// the next run marks them again. A crash in 4 repeats the deletes, which tolerate missing
// objects. Delete requests are marked processed only after every table was handled, and
// applying one again finds nothing more to delete.
//
// With the index shipper active (S3, Deps.Shipped), each run also merges the tables the
// ingesters shipped to the bucket: for every tenant and day it downloads all the files under
// index/<day>/<tenant>/, merges them into one table, applies the same plan to it (dropped chunks
// go through the same marker and sweep), uploads it as index/<day>/<tenant>/compactor-<ns>.db
// and only then deletes the files it merged. This merge runs even without retention_enabled
// (dropping nothing). Queriers read every file of a day and de-duplicate, so a crash between
// the upload and the deletes only leaves duplicates, which the next run merges again; a file
// uploaded after the listing is never deleted. The sweeper then also keeps any chunk a shipped
// table of one of its days still references.
//
// FORMAT.md beside this file describes the marker files.
package compactor
