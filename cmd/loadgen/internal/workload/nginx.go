package workload

import (
	"strconv"
	"time"
)

// appendNginx appends an access line. The ingress controller writes ingress-nginx's default
// format (upstream, request id); plain nginx containers write "combined" plus request time.
func (g *Generator) appendNginx(b []byte, s *Stream, ss *session, t time.Time) []byte {
	v := g.visit(ss)
	b = append(b, v.ip...)
	b = append(b, " - - ["...)
	b = t.AppendFormat(b, "02/Jan/2006:15:04:05 -0700")
	b = append(b, "] \""...)
	b = append(b, g.pick(httpMethods)...)
	b = append(b, ' ')
	pathStart := len(b)
	b = g.appendPath(b)
	b = append(b, " HTTP/1.1\" "...)
	status := g.status(false)
	b = strconv.AppendInt(b, int64(status), 10)
	b = append(b, ' ')
	// A resource has about the same size every time.
	size := 200 + int(hashBytes(b[pathStart:])%30000)
	if g.rng.IntN(4) == 0 {
		size += g.rng.IntN(100)
	}
	b = strconv.AppendInt(b, int64(size), 10)
	b = append(b, " \""...)
	b = append(b, v.referer...)
	b = append(b, "\" \""...)
	b = append(b, v.agent...)
	b = append(b, "\" "...)
	ms := g.latency() / 10
	if s.Container != "controller" {
		return appendSeconds(b, ms)
	}
	b = strconv.AppendInt(b, int64(300+g.rng.IntN(900)), 10) // request length
	b = append(b, ' ')
	b = appendSeconds(b, ms)
	b = append(b, " ["...)
	b = append(b, g.pick(upstreams)...)
	b = append(b, "] [] "...)
	b = append(b, g.pick(g.podIPs)...)
	b = append(b, ":8080 "...)
	b = strconv.AppendInt(b, int64(size), 10)
	b = append(b, ' ')
	b = appendSeconds(b, ms)
	b = append(b, ' ')
	b = strconv.AppendInt(b, int64(status), 10)
	b = append(b, ' ')
	return g.appendHex(b, 32)
}

// hashBytes is FNV-1a: a stable number from a resource's path.
func hashBytes(b []byte) uint32 {
	h := uint32(2166136261)
	for _, c := range b {
		h = (h ^ uint32(c)) * 16777619
	}
	return h
}
