package stages

import (
	"context"
	"encoding/json"
	"errors"
	"time"

	"github.com/sluicelog/sluice/promtail/entry"
)

// DockerLine is one line of Docker's json-file log driver.
type DockerLine struct {
	Log    string    `json:"log"`
	Stream string    `json:"stream"`
	Time   time.Time `json:"time"`
}

// ErrNotDocker is returned for a line that is not a json-file record.
var ErrNotDocker = errors.New("not a docker json-file log line")

// ParseDocker decodes one json-file line.
func ParseDocker(line string) (DockerLine, error) {
	var d DockerLine
	if err := json.Unmarshal([]byte(line), &d); err != nil {
		return d, ErrNotDocker
	}
	if d.Stream == "" && d.Log == "" {
		return d, ErrNotDocker
	}
	return d, nil
}

// dockerStage is per pipeline (per file): its memo shares the labels it derives.
type dockerStage struct {
	memo entry.LabelMemo
}

func (s *dockerStage) Process(ctx context.Context, it Item, next Emit) error {
	d, err := ParseDocker(it.Line)
	if err != nil {
		return next(ctx, it)
	}
	it.Set("stream", d.Stream)
	it.Set("output", d.Log)
	it.Set("timestamp", d.Time.Format(time.RFC3339Nano))
	if d.Stream != "" {
		it.SetLabelMemo("stream", d.Stream, &s.memo)
	}
	if !d.Time.IsZero() {
		it.Timestamp = d.Time.UnixNano()
	}
	it.Line = d.Log
	return next(ctx, it)
}
