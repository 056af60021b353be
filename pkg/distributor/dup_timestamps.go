package distributor

import "github.com/sluicelog/sluice/pkg/logproto"

// dupTimestamps carries out limits_config.increment_duplicate_timestamp over the accepted
// entries of one stream in one push, in order, as Loki does. An entry whose line differs from
// the previous entry's and whose timestamp is either the previous entry's as sent or as
// stored moves to one nanosecond after the previous entry's stored timestamp: lines logged
// within one clock tick keep their order (t, t, t becomes t, t+1, t+2), while an exact
// repeat of the previous entry keeps its timestamp, so the ingester still drops it as a
// duplicate. Entries of other pushes are not looked at, as in Loki.
type dupTimestamps struct {
	started bool
	line    string
	sent    int64 // the previous entry's timestamp as sent, unless it was moved (then the last one not moved)
	stored  int64 // the previous entry's timestamp as stored
}

func (d *dupTimestamps) increment(e *logproto.Entry) {
	if d.started && e.Line != d.line && (e.Timestamp == d.sent || e.Timestamp == d.stored) {
		e.Timestamp = d.stored + 1
	} else {
		d.sent = e.Timestamp
	}
	d.started, d.line, d.stored = true, e.Line, e.Timestamp
}
