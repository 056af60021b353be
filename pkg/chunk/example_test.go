package chunk_test

import (
	"bytes"
	"fmt"

	"github.com/prometheus/prometheus/model/labels"

	"github.com/sluicelog/sluice/pkg/chunk"
	"github.com/sluicelog/sluice/pkg/logproto"
)

// An ingester appends a stream's entries to a head, in any order, and flushes the encoded
// chunk; a querier decodes it and iterates the time range a query asks for.
func Example() {
	h, err := chunk.NewHead(chunk.DefaultEncoding, chunk.DefaultBlockSize, chunk.DefaultTargetSize)
	if err != nil {
		panic(err)
	}
	entries := []logproto.Entry{
		{Timestamp: 300, Line: `level=error msg="upstream timeout"`},
		{Timestamp: 100, Line: `level=info msg="started"`},
		{Timestamp: 200, Line: `level=info msg="ready"`, StructuredMetadata: labels.FromStrings("trace_id", "4bf92f35")},
		{Timestamp: 200, Line: `level=info msg="ready"`}, // an exact duplicate: dropped
	}
	for i := range entries {
		if err := h.Append(&entries[i]); err != nil {
			fmt.Println("append:", err)
		}
	}
	b, err := h.Bytes()
	if err != nil {
		panic(err)
	}

	c, err := chunk.Decode(b)
	if err != nil {
		panic(err)
	}
	stream := labels.FromStrings("app", "api")
	onlyInfo := func(line []byte) bool { return bytes.HasPrefix(line, []byte("level=info")) }
	it := c.Iterator(stream, 100, 301, logproto.Backward, onlyInfo)
	defer it.Close()
	for it.Next() {
		e := it.At()
		fmt.Println(e.Timestamp, e.Line, e.StructuredMetadata)
	}
	if err := it.Err(); err != nil {
		panic(err)
	}
	// Output:
	// append: duplicate entry
	// 200 level=info msg="ready" {trace_id="4bf92f35"}
	// 100 level=info msg="started" {}
}
