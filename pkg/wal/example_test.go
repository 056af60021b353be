package wal_test

import (
	"context"
	"fmt"
	"log"
	"os"

	"github.com/sluicelog/sluice/pkg/logproto"
	"github.com/sluicelog/sluice/pkg/wal"
)

// The ingester's life cycle: replay what is on disk, open for writing, log pushes, checkpoint.
func Example() {
	dir, err := os.MkdirTemp("", "wal-example")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(dir)
	ctx := context.Background()

	// Start-up: nothing to replay yet.
	var dec wal.Decoder
	replay := func(rec []byte) error {
		r, err := dec.Decode(rec)
		if err != nil {
			return err
		}
		for _, s := range r.Streams {
			for _, e := range s.Entries {
				fmt.Printf("replayed %s %s %d %q\n", r.Tenant, s.Labels, e.Timestamp, e.Line)
			}
		}
		return nil
	}
	if _, err := wal.Replay(ctx, dir, wal.Options{}, replay); err != nil {
		log.Fatal(err)
	}

	w, err := wal.Open(dir, wal.Options{})
	if err != nil {
		log.Fatal(err)
	}
	push := []logproto.Stream{{Labels: `{app="api"}`, Entries: []logproto.Entry{{Timestamp: 1, Line: "hello"}}}}
	var buf []byte
	buf = wal.AppendRecord(buf[:0], "tenant-a", push)
	if err := w.Log(ctx, buf); err != nil { // durable now: answer 204
		log.Fatal(err)
	}

	// A checkpoint of the in-memory state replaces the segments written so far.
	err = w.Checkpoint(ctx, func(write func([]byte) error) error {
		state := []logproto.Stream{{Labels: `{app="api"}`, Entries: []logproto.Entry{{Timestamp: 1, Line: "hello"}}}}
		return write(wal.AppendRecord(nil, "tenant-a", state))
	})
	if err != nil {
		log.Fatal(err)
	}
	buf = wal.AppendRecord(buf[:0], "tenant-a", []logproto.Stream{{Labels: `{app="api"}`, Entries: []logproto.Entry{{Timestamp: 2, Line: "world"}}}})
	if err := w.Log(ctx, buf); err != nil {
		log.Fatal(err)
	}
	if err := w.Close(); err != nil {
		log.Fatal(err)
	}

	// Next start-up: the checkpoint, then the record logged after it.
	stats, err := wal.Replay(ctx, dir, wal.Options{}, replay)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("records:", stats.Records)
	// Output:
	// replayed tenant-a {app="api"} 1 "hello"
	// replayed tenant-a {app="api"} 2 "world"
	// records: 2
}
