package main

import (
	"math/rand/v2"
	"strconv"
	"time"
)

var (
	namespaces = []string{"default", "payments", "checkout", "search", "identity", "ingress-nginx", "monitoring", "orders", "catalog", "notifications"}
	apps       = []string{"api-gateway", "payment-service", "cart", "search-indexer", "auth", "ingress-nginx-controller", "billing-worker", "order-service", "catalog-api", "mailer", "inventory", "recommendation"}
	paths      = []string{"/api/v1/orders", "/api/v1/orders/{id}", "/api/v2/cart/items", "/healthz", "/api/v1/search?q=shoes&page=2", "/static/js/app.8f3a1c.js", "/api/v1/users/me", "/login", "/api/v1/payments/authorize", "/metrics"}
	methods    = []string{"GET", "GET", "GET", "POST", "PUT", "DELETE"}
	agents     = []string{
		"Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 Safari/537.36",
		"Mozilla/5.0 (iPhone; CPU iPhone OS 17_2 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.2 Mobile/15E148 Safari/604.1",
		"kube-probe/1.29", "Go-http-client/1.1", "curl/8.5.0",
	}
	statuses = []int{200, 200, 200, 200, 200, 201, 204, 301, 304, 400, 401, 404, 500, 502, 503}
	levels   = []string{"info", "info", "info", "info", "debug", "warn", "error"}
	messages = []string{"request completed", "cache miss, loading from database", "order state transition", "retrying upstream call", "payment authorized", "user session refreshed", "inventory reserved", "slow query detected", "message published to queue", "connection pool exhausted, waiting"}
	javaMsgs = []string{"Started OrderController in 4.215 seconds (JVM running for 5.1)", "HikariPool-1 - Connection is not available, request timed out after 30000ms.", "Resolved [org.springframework.web.HttpMediaTypeNotSupportedException: Content type 'text/plain' not supported]", "Completed initialization in 2 ms", "Exception in thread \"pool-3-thread-7\" java.lang.OutOfMemoryError: Java heap space"}
	javaCls  = []string{"o.s.web.servlet.DispatcherServlet", "com.zaxxer.hikari.pool.HikariPool", "c.e.orders.web.OrderController", "o.h.engine.jdbc.spi.SqlExceptionHelper", "c.e.payments.service.PaymentService"}
)

// generator produces the content of log lines: about a third nginx access lines, a third JSON
// application logs, a fifth logfmt and the rest Java (Spring Boot) lines.
type generator struct {
	rng *rand.Rand
}

func newGenerator(seed uint64) *generator {
	return &generator{rng: rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))}
}

func (g *generator) pick(s []string) string { return s[g.rng.IntN(len(s))] }

func (g *generator) hex(b []byte, n int) []byte {
	const digits = "0123456789abcdef"
	for range n {
		b = append(b, digits[g.rng.IntN(16)])
	}
	return b
}

// appendCRI appends one CRI-format line stamped ts (with its newline) and returns the buffer
// and the length of the line's content.
func (g *generator) appendCRI(b []byte, ts time.Time) ([]byte, int) {
	b = ts.AppendFormat(b, "2006-01-02T15:04:05.000000000Z07:00")
	if g.rng.IntN(10) == 0 {
		b = append(b, " stderr F "...)
	} else {
		b = append(b, " stdout F "...)
	}
	n := len(b)
	b = g.appendContent(b, ts)
	raw := len(b) - n
	return append(b, '\n'), raw
}

// appendContent appends one line of content (no newline).
func (g *generator) appendContent(b []byte, ts time.Time) []byte {
	switch r := g.rng.IntN(100); {
	case r < 33:
		return g.nginx(b, ts)
	case r < 67:
		return g.json(b, ts)
	case r < 87:
		return g.logfmt(b, ts)
	default:
		return g.java(b, ts)
	}
}

func (g *generator) ip(b []byte) []byte {
	b = strconv.AppendInt(b, int64(10+g.rng.IntN(200)), 10)
	for range 3 {
		b = append(b, '.')
		b = strconv.AppendInt(b, int64(g.rng.IntN(256)), 10)
	}
	return b
}

func (g *generator) nginx(b []byte, ts time.Time) []byte {
	b = g.ip(b)
	b = append(b, " - - ["...)
	b = ts.AppendFormat(b, "02/Jan/2006:15:04:05 -0700")
	b = append(b, "] \""...)
	b = append(b, g.pick(methods)...)
	b = append(b, ' ')
	b = append(b, g.pick(paths)...)
	b = append(b, " HTTP/1.1\" "...)
	b = strconv.AppendInt(b, int64(statuses[g.rng.IntN(len(statuses))]), 10)
	b = append(b, ' ')
	b = strconv.AppendInt(b, int64(100+g.rng.IntN(30000)), 10)
	b = append(b, " \"-\" \""...)
	b = append(b, g.pick(agents)...)
	b = append(b, "\" "...)
	b = strconv.AppendInt(b, int64(300+g.rng.IntN(900)), 10)
	b = append(b, ' ')
	b = strconv.AppendFloat(b, float64(g.rng.IntN(2000))/1000, 'f', 3, 64)
	b = append(b, " [default-"...)
	b = append(b, g.pick(apps)...)
	b = append(b, "-80] "...)
	b = g.ip(b)
	b = append(b, ":8080 "...)
	return g.hex(b, 32)
}

func (g *generator) json(b []byte, ts time.Time) []byte {
	b = append(b, `{"ts":"`...)
	b = ts.AppendFormat(b, time.RFC3339Nano)
	b = append(b, `","level":"`...)
	b = append(b, g.pick(levels)...)
	b = append(b, `","msg":"`...)
	b = append(b, g.pick(messages)...)
	b = append(b, `","trace_id":"`...)
	b = g.hex(b, 32)
	b = append(b, `","user_id":`...)
	b = strconv.AppendInt(b, int64(g.rng.IntN(1_000_000)), 10)
	b = append(b, `,"method":"`...)
	b = append(b, g.pick(methods)...)
	b = append(b, `","path":"`...)
	b = append(b, g.pick(paths)...)
	b = append(b, `","status":`...)
	b = strconv.AppendInt(b, int64(statuses[g.rng.IntN(len(statuses))]), 10)
	b = append(b, `,"span_id":"`...)
	b = g.hex(b, 16)
	b = append(b, `","service":"`...)
	b = append(b, g.pick(apps)...)
	b = append(b, `","duration_ms":`...)
	b = strconv.AppendFloat(b, float64(g.rng.IntN(500000))/1000, 'f', 3, 64)
	b = append(b, `}`...)
	return b
}

func (g *generator) logfmt(b []byte, ts time.Time) []byte {
	b = append(b, "time="...)
	b = ts.AppendFormat(b, time.RFC3339Nano)
	b = append(b, " level="...)
	b = append(b, g.pick(levels)...)
	b = append(b, " msg=\""...)
	b = append(b, g.pick(messages)...)
	b = append(b, "\" job_id="...)
	b = g.hex(b, 16)
	b = append(b, " queue=billing attempt="...)
	b = strconv.AppendInt(b, int64(1+g.rng.IntN(5)), 10)
	b = append(b, " items="...)
	b = strconv.AppendInt(b, int64(g.rng.IntN(400)), 10)
	b = append(b, " worker="...)
	b = append(b, g.pick(apps)...)
	b = append(b, '-')
	b = strconv.AppendInt(b, int64(g.rng.IntN(64)), 10)
	b = append(b, " span_id="...)
	b = g.hex(b, 16)
	b = append(b, " elapsed="...)
	b = strconv.AppendInt(b, int64(g.rng.IntN(9000)), 10)
	return append(b, "ms"...)
}

func (g *generator) java(b []byte, ts time.Time) []byte {
	b = ts.AppendFormat(b, "2006-01-02 15:04:05.000")
	if g.rng.IntN(10) == 0 {
		b = append(b, " ERROR 1 --- [nio-8080-exec-"...)
	} else {
		b = append(b, "  INFO 1 --- [nio-8080-exec-"...)
	}
	b = strconv.AppendInt(b, int64(1+g.rng.IntN(10)), 10)
	b = append(b, "] "...)
	b = append(b, g.pick(javaCls)...)
	b = append(b, " : "...)
	return append(b, g.pick(javaMsgs)...)
}
