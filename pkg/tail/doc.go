// Package tail fans freshly ingested log entries out to live tails (Loki's
// /loki/api/v1/tail).
//
// The ingester hands every push it accepted, once durable, to Registry.Push. Push never
// blocks and costs one atomic load when nobody tails: with subscribers it copies the push
// (the caller may reuse its memory) onto a bounded per-tenant queue and returns. When the
// queue is full the push is not queued; its entries are recorded (labels and timestamp
// only) and reported to matching subscribers as dropped entries.
//
// One goroutine per tenant with subscribers (a hub) drains the queue: it matches each stream
// against every subscription's selector, runs the subscription's own LogQL pipeline over the
// entries and appends the survivors to the subscription's bounded buffer. A subscription
// whose reader falls behind does not slow anyone: entries that do not fit are recorded as
// dropped (up to 1000 between two reads, as Loki) and handed out with the next batch.
//
// The reader (the websocket handler) calls Subscription.Take to get the entries that are
// due, in timestamp order, waiting on Wake between calls, and Close when it is done. A
// subscription ends by itself after Config.MaxDuration or when the registry closes; Done
// and Err tell the reader.
package tail
