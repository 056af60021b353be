package workload

import "strconv"

// pick returns a random element of list.
func (g *Generator) pick(list []string) string { return list[g.rng.IntN(len(list))] }

// level draws a log level index (0 info, 1 debug, 2 warn, 3 error) with the given per-mille
// chances of debug, warn and error.
func (g *Generator) level(debug, warn, errs int) int {
	r := g.rng.IntN(1000)
	switch {
	case r < errs:
		return 3
	case r < errs+warn:
		return 2
	case r < errs+warn+debug:
		return 1
	}
	return 0
}

const hexDigits = "0123456789abcdef"

// appendHex appends n random hex digits (a trace or span id).
func (g *Generator) appendHex(b []byte, n int) []byte {
	for n > 0 {
		v := g.rng.Uint64()
		for i := 0; i < 16 && n > 0; i++ {
			b = append(b, hexDigits[v&15])
			v >>= 4
			n--
		}
	}
	return b
}

// appendMillis appends d milliseconds with one decimal, e.g. 12.4.
func appendMillis(b []byte, tenths int) []byte {
	b = strconv.AppendInt(b, int64(tenths/10), 10)
	b = append(b, '.')
	return append(b, byte('0'+tenths%10))
}

// appendSeconds appends a duration in milliseconds as seconds with three decimals, e.g. 0.012.
func appendSeconds(b []byte, ms int) []byte {
	b = strconv.AppendInt(b, int64(ms/1000), 10)
	b = append(b, '.')
	frac := ms % 1000
	b = append(b, byte('0'+frac/100), byte('0'+frac/10%10), byte('0'+frac%10))
	return b
}

// latency draws a request latency in tenths of a millisecond: mostly fast, with a long tail.
func (g *Generator) latency() int {
	v := 5 + g.rng.IntN(200)
	if g.rng.IntN(10) == 0 {
		v += g.rng.IntN(5000)
	}
	if g.rng.IntN(200) == 0 {
		v += g.rng.IntN(50000)
	}
	return v
}

// appendPath appends a request path; paths ending in '/' get an id, static assets a hash.
func (g *Generator) appendPath(b []byte) []byte {
	p := g.pick(apiPaths)
	b = append(b, p...)
	switch p[len(p)-1] {
	case '/':
		b = strconv.AppendInt(b, int64(1000+g.skewed(200000)), 10) // popular items come back
	case '.':
		b = g.appendHex(b, 8)
		if p[len(p)-2] == 's' && p[len(p)-3] == 'j' { // "/static/js/app."
			b = append(b, ".js"...)
		} else {
			b = append(b, ".css"...)
		}
	}
	if g.rng.IntN(8) == 0 {
		b = append(b, "?page="...)
		b = strconv.AppendInt(b, int64(1+g.rng.IntN(20)), 10)
	}
	return b
}

// status draws an HTTP status code: mostly 200, some redirects, client and server errors.
func (g *Generator) status(errorLevel bool) int {
	if errorLevel {
		return []int{500, 502, 503, 504}[g.rng.IntN(4)]
	}
	r := g.rng.IntN(1000)
	switch {
	case r < 850:
		return 200
	case r < 880:
		return 201
	case r < 910:
		return 304
	case r < 930:
		return 301
	case r < 960:
		return 404
	case r < 975:
		return 401
	case r < 990:
		return 400
	case r < 995:
		return 429
	}
	return 503
}
