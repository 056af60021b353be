package agent

import (
	"context"
	"fmt"
	"io"
	"sync"
	"time"

	"github.com/sluicelog/sluice/promtail/entry"
)

// printer is the -dry-run Sender: it prints each entry instead of pushing it, and counts it as
// acknowledged.
type printer struct {
	mu sync.Mutex
	w  io.Writer
}

func (p *printer) Send(_ context.Context, e entry.Entry) error {
	p.mu.Lock()
	fmt.Fprintf(p.w, "%s\t%s\t%s\n", e.Key(), time.Unix(0, e.Timestamp).UTC().Format(time.RFC3339Nano), e.Line)
	p.mu.Unlock()
	e.Ack.Done()
	return nil
}
