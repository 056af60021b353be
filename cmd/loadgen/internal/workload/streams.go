package workload

import (
	"math/rand/v2"
	"strings"
)

// Format is the shape of a stream's log lines.
type Format uint8

const (
	// Nginx is nginx's combined access log plus request and upstream times.
	Nginx Format = iota
	// JSON is a structured application log: one JSON object of about 12 fields per line.
	JSON
	// Logfmt is a background worker's key=value log.
	Logfmt
	// Java is a Spring Boot style log; errors carry a multi-line stack trace in the same entry.
	Java
)

// String names f as the tests and the loadgen summary print it.
func (f Format) String() string {
	switch f {
	case Nginx:
		return "nginx"
	case JSON:
		return "json"
	case Logfmt:
		return "logfmt"
	case Java:
		return "java"
	}
	return "unknown"
}

// Stream is one Kubernetes container's log stream.
type Stream struct {
	Namespace, App, Container, Pod string
	Format                         Format
	// Labels is the stream's label set in selector syntax, sorted by name.
	Labels string
	// weight is the stream's share of the traffic, relative to the others.
	weight int
}

// app is a deployment: every replica (pod) is one stream.
type app struct {
	namespace, name, container string
	format                     Format
	weight                     int // lines per replica, relative
}

// apps is the cluster: 25 deployments of 4 replicas each, 100 streams. The weights set how
// chatty each one is; the mix of formats they give (by lines: about 33% nginx, 34% JSON,
// 20% logfmt, 13% Java) and the sizes of the line generators together make the average
// line about 236 bytes, which TestAverageLineSize checks.
var apps = []app{
	{"ingress-nginx", "ingress-nginx-controller", "controller", Nginx, 12},
	{"shop", "storefront", "nginx", Nginx, 7},
	{"shop", "assets", "nginx", Nginx, 5},
	{"docs", "docs-site", "nginx", Nginx, 2},
	{"identity", "auth-proxy", "nginx", Nginx, 4},
	{"payments", "edge", "nginx", Nginx, 3},

	{"shop", "cart", "server", JSON, 6},
	{"shop", "catalog", "server", JSON, 7},
	{"checkout", "checkout-api", "server", JSON, 5},
	{"payments", "payments-api", "server", JSON, 4},
	{"identity", "accounts", "server", JSON, 3},
	{"search", "search-api", "server", JSON, 4},
	{"notifications", "notifier", "server", JSON, 2},
	{"platform", "feature-flags", "server", JSON, 2},

	{"ingest", "log-router", "worker", Logfmt, 5},
	{"shop", "order-worker", "worker", Logfmt, 4},
	{"checkout", "email-worker", "worker", Logfmt, 3},
	{"search", "indexer", "worker", Logfmt, 4},
	{"platform", "cron-runner", "worker", Logfmt, 1},
	{"payments", "settlement-worker", "worker", Logfmt, 3},

	{"payments", "ledger", "app", Java, 3},
	{"checkout", "orders", "app", Java, 4},
	{"identity", "user-service", "app", Java, 2},
	{"search", "recommender", "app", Java, 2},
	{"platform", "billing", "app", Java, 2},
}

// replicas is the number of pods of each app.
const replicas = 4

// NumStreams is the number of streams a Generator writes to.
const NumStreams = replicas * 25

// newStreams names the pods (from rng, so the seed decides them) and builds the label sets.
func newStreams(rng *rand.Rand) []Stream {
	streams := make([]Stream, 0, NumStreams)
	for _, a := range apps {
		rs := randString(rng, podHashChars, 10) // one ReplicaSet per deployment
		for r := 0; r < replicas; r++ {
			pod := a.name + "-" + rs + "-" + randString(rng, podHashChars, 5)
			s := Stream{Namespace: a.namespace, App: a.name, Container: a.container, Pod: pod, Format: a.format, weight: a.weight}
			s.Labels = `{app="` + a.name + `", container="` + a.container + `", namespace="` + a.namespace + `", pod="` + pod + `"}`
			streams = append(streams, s)
		}
	}
	return streams
}

// podHashChars are the characters Kubernetes uses in generated name suffixes.
const podHashChars = "bcdfghjklmnpqrstvwxz2456789"

func randString(rng *rand.Rand, alphabet string, n int) string {
	var b strings.Builder
	b.Grow(n)
	for i := 0; i < n; i++ {
		b.WriteByte(alphabet[rng.IntN(len(alphabet))])
	}
	return b.String()
}
