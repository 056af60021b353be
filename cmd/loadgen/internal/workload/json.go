package workload

import (
	"strconv"
	"time"
)

// appendJSON appends a structured log line of 12 fields, as Go and Node services write them.
// The lines of one request share its trace, span, user, method, path and status.
func (g *Generator) appendJSON(b []byte, ss *session, t time.Time) []byte {
	g.request(ss)
	lvl := g.level(40, 60, 25)
	if ss.status == 0 || lvl == 3 {
		ss.status = g.status(lvl == 3)
	}
	b = append(b, `{"ts":"`...)
	b = t.AppendFormat(b, "2006-01-02T15:04:05.000Z07:00")
	b = append(b, `","level":"`...)
	b = append(b, levels[lvl]...)
	b = append(b, `","logger":"`...)
	b = append(b, g.pick(jsonLoggers)...)
	b = append(b, `","msg":"`...)
	b = append(b, g.pick(jsonMessages[lvl])...)
	b = append(b, `","trace_id":"`...)
	b = append(b, ss.trace...)
	b = append(b, `","span_id":"`...)
	b = append(b, ss.span...)
	b = append(b, `","user_id":`...)
	b = strconv.AppendInt(b, int64(ss.user), 10)
	b = append(b, `,"method":"`...)
	b = append(b, ss.method...)
	b = append(b, `","path":"`...)
	b = append(b, ss.path...)
	b = append(b, `","status":`...)
	b = strconv.AppendInt(b, int64(ss.status), 10)
	b = append(b, `,"duration_ms":`...)
	b = appendMillis(b, g.latency())
	b = append(b, `,"bytes":`...)
	b = strconv.AppendInt(b, int64(100+hashBytes(ss.path)%20000), 10) // a resource's size
	return append(b, '}')
}
