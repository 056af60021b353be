// Package deletion holds Loki's log deletion requests: the HTTP API that creates, lists and
// cancels them (/loki/api/v1/delete), the durable store that keeps them, the filter that hides
// the lines they select from query results as soon as they are created, and the per-chunk test
// the compactor uses to remove those lines from storage once the cancel period is over. The
// compactor owns the requests and keeps them in the object store; queriers in other processes
// read them from there (shared.go).
//
// A Request names a tenant, a LogQL stream selector with optional line filters, and an inclusive
// time range in milliseconds (Loki's precision). It is "received" until the compactor has
// applied it to every index table, then "processed". Cancelled requests are removed. Processed
// requests stay in the store, and keep filtering queries, as in Loki: lines ingested later in
// their range stay hidden.
//
// pkg/compactor/FORMAT.md describes the compactor's bbolt file and the object in the object
// store.
package deletion
