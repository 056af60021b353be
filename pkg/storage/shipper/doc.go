// Package shipper ships index tables through the object store, so that any node can answer
// queries over chunks that other nodes (or an earlier life of itself) flushed.
//
// Write side (Uploader): the ingester writes bbolt index tables locally under its active index
// directory, one file per tenant per day (package index). Every UploadInterval, and on Stop, the
// Uploader takes a consistent snapshot of each table that changed since its last upload (a bbolt
// read transaction, so writes go on) and puts it at
//
//	index/<day>/<tenant>/<ingester-name>.db
//
// Before a table's first upload from a data directory, the copy already in the bucket under the
// same name (left by a previous life of this node, whose disk is gone) is merged into the local
// table, so an upload never drops what an earlier upload had. What was uploaded is remembered in
// a small state file in the active index directory.
//
// Read side (Downloads): a querier lists the shipped tables (at start, then every
// ResyncInterval), downloads the ones a query's days need into CacheLocation, opens them
// read-only and queries them next to the local index. Every ResyncInterval it refreshes the
// tables it has (a ranged read of the first 80 bytes tells whether a table changed), and it
// drops tables no query used for CacheTTL. A downloaded table that fails its checks (bbolt's page
// check, or a tenant and day other than its key says) is logged, counted and skipped.
//
// Shipper bundles both and gives the chunk store its index: the Union of the local tables and
// the downloaded ones.
package shipper
