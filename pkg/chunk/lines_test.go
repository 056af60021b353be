package chunk

import (
	"fmt"
	"math/rand/v2"
	"strconv"
	"testing"
	"time"

	"github.com/prometheus/prometheus/model/labels"

	"github.com/sluicelog/sluice/pkg/logproto"
)

// testLines returns n realistic log entries, deterministic for a seed: a mix of nginx access
// lines, JSON application logs and logfmt lines averaging about 236 bytes, one millisecond
// or so apart from 2026-11-22T00:00:00Z, in time order. Every tenth entry carries structured
// metadata drawn from a small set, as a Kubernetes stream's would.
func testLines(tb testing.TB, n int, seed uint64) []logproto.Entry {
	tb.Helper()
	r := rand.New(rand.NewPCG(seed, seed^0x5eed))
	ts := time.Date(2026, 11, 22, 0, 0, 0, 0, time.UTC).UnixNano()
	out := make([]logproto.Entry, n)
	for i := range out {
		ts += int64(r.IntN(2_000_000)) + 1
		var line string
		switch r.IntN(3) {
		case 0:
			line = nginxLine(r, ts)
		case 1:
			line = jsonLine(r, ts)
		default:
			line = logfmtLine(r, ts)
		}
		out[i] = logproto.Entry{Timestamp: ts, Line: line, StructuredMetadata: labels.EmptyLabels()}
		if i%10 == 0 {
			out[i].StructuredMetadata = labels.FromStrings(
				"pod_uid", testUIDs[r.IntN(len(testUIDs))],
				"trace_id", testTraceIDs[r.IntN(len(testTraceIDs))])
		}
	}
	return out
}

var (
	testUIDs     = []string{"7c9e6679-7425-40de-944b-e07fc1f90ae7", "0a1b2c3d-4e5f-6789-abcd-ef0123456789", "5f2b3c4d-1a2b-4c5d-8e9f-0a1b2c3d4e5f"}
	testTraceIDs = []string{"4bf92f3577b34da6a3ce929d0e0e4736", "00f067aa0ba902b7a3ce929d0e0e4736", "a3ce929d0e0e47364bf92f3577b34da6"}
	testPaths    = []string{"/api/v1/users", "/api/v1/orders", "/api/v1/cart/items", "/healthz", "/static/js/app.3f9a1c.js", "/api/v2/search", "/login", "/api/v1/payments/authorize"}
	testMethods  = []string{"GET", "GET", "GET", "POST", "PUT", "DELETE"}
	testStatus   = []int{200, 200, 200, 200, 201, 204, 301, 304, 400, 401, 404, 500, 502}
	testAgents   = []string{
		"Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 Safari/537.36",
		"Mozilla/5.0 (Macintosh; Intel Mac OS X 14_1) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.1 Safari/605.1.15",
		"curl/8.4.0", "kube-probe/1.29", "Go-http-client/1.1", "python-requests/2.31.0",
	}
	testLevels = []string{"info", "info", "info", "debug", "warn", "error"}
	testMsgs   = []string{"request completed", "order created", "cache miss", "retrying upstream call",
		"user session refreshed", "payment authorized", "slow query detected", "connection pool exhausted"}
	testLoggers = []string{"api.orders", "api.users", "cache.session", "db.pool", "payments.gateway", "http.server"}
)

func pick[T any](r *rand.Rand, s []T) T { return s[r.IntN(len(s))] }

func hex(r *rand.Rand, n int) string {
	const digits = "0123456789abcdef"
	b := make([]byte, n)
	for i := range b {
		b[i] = digits[r.IntN(16)]
	}
	return string(b)
}

func nginxLine(r *rand.Rand, ts int64) string {
	t := time.Unix(0, ts).UTC()
	return fmt.Sprintf(`10.%d.%d.%d - - [%s] "%s %s/%d?page=%d HTTP/1.1" %d %d "https://shop.example.com/%s" "%s" rt=%.3f upstream=10.2.%d.%d:8080`,
		r.IntN(4), r.IntN(256), r.IntN(256), t.Format("02/Jan/2006:15:04:05 -0700"),
		pick(r, testMethods), pick(r, testPaths), r.IntN(100000), r.IntN(20), pick(r, testStatus),
		r.IntN(60000), pick(r, []string{"cart", "checkout", "", "product/42"}), pick(r, testAgents), r.Float64(), r.IntN(256), r.IntN(256))
}

func jsonLine(r *rand.Rand, ts int64) string {
	t := time.Unix(0, ts).UTC()
	return fmt.Sprintf(`{"ts":"%s","level":"%s","logger":"%s","msg":"%s","order_id":"ord_%s","user_id":%d,"duration_ms":%.2f,"trace_id":"%s","span_id":"%s","status":%d}`,
		t.Format(time.RFC3339Nano), pick(r, testLevels), pick(r, testLoggers), pick(r, testMsgs),
		hex(r, 12), r.IntN(1000000), r.Float64()*250, hex(r, 32), hex(r, 16), pick(r, testStatus))
}

func logfmtLine(r *rand.Rand, ts int64) string {
	t := time.Unix(0, ts).UTC()
	return fmt.Sprintf(`ts=%s level=%s caller=%s.go:%d msg=%s component=%s key=session:%s latency=%sms hits=%d misses=%d host=node-%d.cluster.local span=%s`,
		t.Format(time.RFC3339Nano), pick(r, testLevels), pick(r, []string{"cache", "server", "pool", "handler"}), r.IntN(400),
		strconv.Quote(pick(r, testMsgs)), pick(r, testLoggers), hex(r, 16), strconv.FormatFloat(r.Float64()*20, 'f', 2, 64),
		r.IntN(100000), r.IntN(1000), r.IntN(32), hex(r, 16))
}

func TestLinesAverageSize(t *testing.T) {
	es := testLines(t, 3000, 1)
	total := 0
	for _, e := range es {
		total += len(e.Line)
	}
	if avg := total / len(es); avg < 226 || avg > 246 {
		t.Errorf("average line size %d bytes, want about 236", avg)
	}
}
