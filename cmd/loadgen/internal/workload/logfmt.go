package workload

import (
	"strconv"
	"time"
)

// appendLogfmt appends a worker's key=value line, as Go's log/slog and go-kit write them.
// The lines of one job share its worker, queue, job name and id.
func (g *Generator) appendLogfmt(b []byte, ss *session, t time.Time) []byte {
	g.runJob(ss)
	lvl := g.level(80, 40, 15)
	b = append(b, "ts="...)
	b = t.AppendFormat(b, "2006-01-02T15:04:05.000000Z07:00")
	b = append(b, " level="...)
	b = append(b, levels[lvl]...)
	b = append(b, " caller="...)
	b = append(b, g.pick(goCallers)...)
	b = append(b, " worker="...)
	b = strconv.AppendInt(b, int64(ss.worker), 10)
	b = append(b, " queue="...)
	b = append(b, ss.queue...)
	b = append(b, " job="...)
	b = append(b, ss.job...)
	b = append(b, " job_id="...)
	b = append(b, ss.jobID...)
	b = append(b, " attempt="...)
	attempt := 1
	if lvl >= 2 {
		attempt += g.rng.IntN(5)
	}
	b = strconv.AppendInt(b, int64(attempt), 10)
	b = append(b, " duration="...)
	b = appendMillis(b, g.latency()*3)
	b = append(b, "ms items="...)
	b = strconv.AppendInt(b, int64(g.rng.IntN(500)), 10)
	b = append(b, ` msg="`...)
	b = append(b, g.pick(logfmtMessages[lvl])...)
	b = append(b, '"')
	if lvl == 3 {
		b = append(b, ` err="context deadline exceeded"`...)
	}
	return b
}
