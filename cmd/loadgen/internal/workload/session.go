package workload

// Real logs repeat themselves over short stretches: a request writes several lines with one
// trace id, a visitor's page load is a burst of requests from one address and browser, a job
// logs its start and its end under one id. That locality is a large part of why logs compress
// well, so each stream keeps the context of its current request, visit or job and reuses it for
// a few lines before drawing a new one. Without it the workload compressed about 5:1 with zstd,
// well below what real Kubernetes logs give.

// session is a stream's current context.
type session struct {
	left int // lines still to write in this context

	// JSON services: one request.
	trace, span string
	user        int
	method      string
	path        []byte
	status      int

	// nginx: one visitor.
	visitor *visitor

	// logfmt workers: one job.
	jobID, queue, job string
	worker            int
}

// visitor is a client of the web tier: one address, one browser.
type visitor struct {
	ip, agent, referer string
}

// skewed draws from [0, n) with small numbers far more likely (a few hot users, products,
// visitors; a long tail of others).
func (g *Generator) skewed(n int) int {
	u := g.rng.Float64()
	return int(float64(n) * u * u * u)
}

// hex returns n random hex digits.
func (g *Generator) hex(n int) string { return string(g.appendHex(nil, n)) }

func (g *Generator) newVisitors() {
	g.visitors = make([]visitor, 3000)
	for i := range g.visitors {
		g.visitors[i] = visitor{ip: g.pick(g.ips), agent: g.pick(userAgents), referer: g.pick(referers)}
	}
}

// request starts or continues the stream's current request (JSON services).
func (g *Generator) request(s *session) {
	if s.left > 0 {
		s.left--
		return
	}
	s.left = g.rng.IntN(5) // 1 to 5 lines per request
	s.trace, s.span = g.hex(32), g.hex(16)
	s.user = 10000 + g.skewed(90000)
	s.method = g.pick(httpMethods)
	s.path = g.appendPath(s.path[:0])
	s.status = 0
}

// visit starts or continues the stream's current visitor (nginx).
func (g *Generator) visit(s *session) *visitor {
	if s.left > 0 && s.visitor != nil {
		s.left--
		return s.visitor
	}
	s.left = g.rng.IntN(8)
	s.visitor = &g.visitors[g.skewed(len(g.visitors))]
	return s.visitor
}

// runJob starts or continues the stream's current job (logfmt workers).
func (g *Generator) runJob(s *session) {
	if s.left > 0 {
		s.left--
		return
	}
	s.left = 1 + g.rng.IntN(3)
	s.jobID = g.hex(20)
	s.queue, s.job = g.pick(queues), g.pick(jobs)
	s.worker = g.rng.IntN(16)
}
