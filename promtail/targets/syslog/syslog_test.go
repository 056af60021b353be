package syslog

import (
	"context"
	"fmt"
	"io"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/model"

	"github.com/sluicelog/sluice/promtail/config"
	"github.com/sluicelog/sluice/promtail/entry"
	"github.com/sluicelog/sluice/promtail/stages"
	"github.com/sluicelog/sluice/promtail/targets"
)

// collect is a client.Sender that keeps what it is sent.
type collect struct {
	mu      sync.Mutex
	entries []entry.Entry
}

func (c *collect) Send(_ context.Context, e entry.Entry) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.entries = append(c.entries, e)
	return nil
}

// wait returns the first n entries, failing the test if they do not come within 10s.
func (c *collect) wait(t *testing.T, n int) []entry.Entry {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		c.mu.Lock()
		got := append([]entry.Entry(nil), c.entries...)
		c.mu.Unlock()
		if len(got) >= n {
			return got
		}
		if time.Now().After(deadline) {
			t.Fatalf("got %d entries within 10s, want %d: %v", len(got), n, lines(got))
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func lines(es []entry.Entry) []string {
	var out []string
	for _, e := range es {
		out = append(out, e.Line)
	}
	return out
}

type running struct {
	t    *Target
	out  *collect
	reg  *prometheus.Registry
	m    *Metrics
	stop func()
}

// start parses one scrape config (YAML of a scrape_configs item, with listen_address
// 127.0.0.1:0) and runs its syslog target until the test ends.
func start(t *testing.T, scrapeYAML string) *running {
	t.Helper()
	cfg, err := config.Parse([]byte("scrape_configs:\n"+indent(scrapeYAML)), false)
	if err != nil {
		t.Fatal(err)
	}
	sc := cfg.ScrapeConfigs[0]
	tmpl, err := stages.Build(sc.PipelineStages, stages.Options{JobName: sc.JobName})
	if err != nil {
		t.Fatal(err)
	}
	out := &collect{}
	reg := prometheus.NewRegistry()
	m := NewMetrics(reg)
	tg, err := New(*sc.Syslog, targets.NewReceiver(sc.RelabelConfigs, tmpl, out, targets.Limits{}, nil), m, nil)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		tg.Run(ctx)
	}()
	var once sync.Once
	stop := func() {
		once.Do(func() {
			cancel()
			select {
			case <-done:
			case <-time.After(10 * time.Second):
				t.Error("syslog target did not stop within 10s")
			}
		})
	}
	t.Cleanup(stop)
	return &running{t: tg, out: out, reg: reg, m: m, stop: stop}
}

func indent(s string) string {
	var b strings.Builder
	for i, l := range strings.Split(strings.Trim(s, "\n"), "\n") {
		if i == 0 {
			b.WriteString("  - " + l + "\n")
		} else {
			b.WriteString("    " + l + "\n")
		}
	}
	return b.String()
}

func dial(t *testing.T, r *running) net.Conn {
	t.Helper()
	c, err := net.Dial(r.t.Addr().Network(), r.t.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.Close() })
	return c
}

func write(t *testing.T, c net.Conn, s string) {
	t.Helper()
	if _, err := io.WriteString(c, s); err != nil {
		t.Fatal(err)
	}
}

func octet(msgs ...string) string {
	var b strings.Builder
	for _, m := range msgs {
		fmt.Fprintf(&b, "%d %s", len(m), m)
	}
	return b.String()
}

func newline(msgs ...string) string { return strings.Join(msgs, "\n") + "\n" }

func wantLabels(t *testing.T, e entry.Entry, want model.LabelSet) {
	t.Helper()
	if !e.Labels().Equal(want) {
		t.Errorf("line %q: labels %v, want %v", e.Line, e.Labels(), want)
	}
}

const rfc5424Job = `
job_name: syslog
syslog:
  listen_address: 127.0.0.1:0
  label_structured_data: true
  use_incoming_timestamp: %v
  labels: {job: syslog}
relabel_configs:
  - {source_labels: [__syslog_message_hostname], target_label: host}
  - {source_labels: [__syslog_message_app_name], target_label: app}
  - {source_labels: [__syslog_message_severity], target_label: level}
  - {source_labels: [__syslog_message_facility], target_label: facility}
  - {source_labels: [__syslog_message_proc_id], target_label: pid}
  - {source_labels: [__syslog_message_msg_id], target_label: msgid}
  - {source_labels: [__syslog_message_sd_custom_32473_exkey], target_label: exkey}
  - {source_labels: [__syslog_connection_ip_address], target_label: ip}
`

var rfc5424Msgs = []string{
	`<165>1 2018-10-11T22:14:15.003Z host5 app1 123 id1 [custom@32473 exkey="1"] first event`,
	`<11>1 2018-10-11T22:14:15.005Z host6 app2 - id2 [custom@32473 exkey="2"] second event`,
}

func TestTCPRFC5424Framings(t *testing.T) {
	for _, tc := range []struct {
		name  string
		frame func(...string) string
	}{{"octet counting", octet}, {"newline", newline}} {
		for _, incoming := range []bool{true, false} {
			t.Run(fmt.Sprintf("%s/use_incoming_timestamp=%v", tc.name, incoming), func(t *testing.T) {
				r := start(t, fmt.Sprintf(rfc5424Job, incoming))
				c := dial(t, r)
				before := time.Now()
				write(t, c, tc.frame(rfc5424Msgs...))
				got := r.out.wait(t, 2)
				after := time.Now()
				if len(got) != 2 || got[0].Line != "first event" || got[1].Line != "second event" {
					t.Fatalf("lines %q", lines(got))
				}
				wantLabels(t, got[0], model.LabelSet{"job": "syslog", "host": "host5", "app": "app1", "level": "notice",
					"facility": "local4", "pid": "123", "msgid": "id1", "exkey": "1", "ip": "127.0.0.1"})
				wantLabels(t, got[1], model.LabelSet{"job": "syslog", "host": "host6", "app": "app2", "level": "error",
					"facility": "user", "msgid": "id2", "exkey": "2", "ip": "127.0.0.1"})
				for i, e := range got {
					ts := time.Unix(0, e.Timestamp)
					if incoming {
						want := time.Date(2018, 10, 11, 22, 14, 15, (3+2*i)*int(time.Millisecond), time.UTC)
						if !ts.Equal(want) {
							t.Errorf("entry %d: timestamp %v, want the message's %v", i, ts, want)
						}
					} else if ts.Before(before) || ts.After(after) {
						t.Errorf("entry %d: timestamp %v, want the time of arrival (%v..%v)", i, ts, before, after)
					}
				}
				if v := value(r.m.entries); v != 2 {
					t.Errorf("promtail_syslog_target_entries_total = %v, want 2", v)
				}
			})
		}
	}
}

func TestTCPRFC3164(t *testing.T) {
	const job = `
job_name: bsd
syslog:
  listen_address: 127.0.0.1:0
  syslog_format: rfc3164
  use_incoming_timestamp: true
  labels: {job: bsd}
relabel_configs:
  - {source_labels: [__syslog_message_hostname], target_label: host}
  - {source_labels: [__syslog_message_app_name], target_label: app}
  - {source_labels: [__syslog_message_proc_id], target_label: pid}
  - {source_labels: [__syslog_message_severity], target_label: level}
`
	msgs := []string{
		`<34>Oct 11 22:14:15 mymachine su[42]: 'su root' failed for lonvick on /dev/pts/8`,
		`<13>Feb  5 17:32:18 otherhost cron: job done`,
	}
	for _, tc := range []struct {
		name  string
		frame func(...string) string
	}{{"octet counting", octet}, {"newline", newline}} {
		t.Run(tc.name, func(t *testing.T) {
			r := start(t, job)
			write(t, dial(t, r), tc.frame(msgs...))
			got := r.out.wait(t, 2)
			if got[0].Line != "'su root' failed for lonvick on /dev/pts/8" || got[1].Line != "job done" {
				t.Fatalf("lines %q", lines(got))
			}
			wantLabels(t, got[0], model.LabelSet{"job": "bsd", "host": "mymachine", "app": "su", "pid": "42", "level": "critical"})
			wantLabels(t, got[1], model.LabelSet{"job": "bsd", "host": "otherhost", "app": "cron", "level": "notice"})
			// RFC 3164 has no year: the current one is assumed.
			if ts := time.Unix(0, got[0].Timestamp).UTC(); ts.Year() != time.Now().Year() || ts.Month() != time.October || ts.Day() != 11 || ts.Hour() != 22 {
				t.Errorf("timestamp %v, want Oct 11 22:14:15 of this year", ts)
			}
		})
	}
}

func TestMalformedThenGood(t *testing.T) {
	const good = `<165>1 2018-10-11T22:14:15.003Z host5 app1 - - - still here`
	for _, tc := range []struct {
		name, stream string
	}{
		{"newline", "<999>not syslog at all\n" + good + "\n"},
		{"octet counting", octet("<999>not syslog at all", good)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := start(t, "job_name: s\nsyslog: {listen_address: 127.0.0.1:0, labels: {job: s}}")
			c := dial(t, r)
			write(t, c, tc.stream)
			got := r.out.wait(t, 1)
			if len(got) != 1 || got[0].Line != "still here" {
				t.Fatalf("lines %q, want only the good message", lines(got))
			}
			if v := value(r.m.parsingErrors); v != 1 {
				t.Errorf("promtail_syslog_target_parsing_errors_total = %v, want 1", v)
			}
			// The connection still works.
			write(t, c, map[string]string{"newline": newline(good), "octet counting": octet(good)}[tc.name])
			r.out.wait(t, 2)
		})
	}
}

func TestUnknownFramingCountedAndClosed(t *testing.T) {
	r := start(t, "job_name: s\nsyslog: {listen_address: 127.0.0.1:0, labels: {job: s}}")
	c := dial(t, r)
	write(t, c, "hello\n")
	_ = c.SetReadDeadline(time.Now().Add(10 * time.Second))
	if _, err := c.Read(make([]byte, 1)); err != io.EOF {
		t.Fatalf("read after a stream of unknown framing: %v, want EOF (closed by the server)", err)
	}
	if v := value(r.m.parsingErrors); v != 1 {
		t.Errorf("promtail_syslog_target_parsing_errors_total = %v, want 1", v)
	}
}

func TestIdleTimeoutClosesConnection(t *testing.T) {
	r := start(t, "job_name: s\nsyslog: {listen_address: 127.0.0.1:0, idle_timeout: 200ms, labels: {job: s}}")
	c := dial(t, r)
	write(t, c, newline(`<165>1 - - - - - - hi`))
	r.out.wait(t, 1)
	began := time.Now()
	_ = c.SetReadDeadline(time.Now().Add(10 * time.Second))
	if _, err := c.Read(make([]byte, 1)); err != io.EOF {
		t.Fatalf("read from an idle connection: %v, want EOF (closed by the server)", err)
	}
	if d := time.Since(began); d > 5*time.Second {
		t.Errorf("idle connection closed after %v, want about 200ms", d)
	}
	if v := value(r.m.parsingErrors); v != 0 {
		t.Errorf("an idle close counted %v parsing errors, want 0", v)
	}
}

func TestUseRFC5424Message(t *testing.T) {
	r := start(t, "job_name: s\nsyslog: {listen_address: 127.0.0.1:0, use_rfc5424_message: true, labels: {job: s}}")
	write(t, dial(t, r), newline(rfc5424Msgs[0]))
	if got := r.out.wait(t, 1); got[0].Line != rfc5424Msgs[0] {
		t.Errorf("line %q, want the whole message %q", got[0].Line, rfc5424Msgs[0])
	}
}

func TestEmptyMessageSkipped(t *testing.T) {
	r := start(t, "job_name: s\nsyslog: {listen_address: 127.0.0.1:0, labels: {job: s}}")
	write(t, dial(t, r), newline(`<165>1 2018-10-11T22:14:15.003Z host5 app1 - - -`, `<165>1 - - - - - - after`))
	if got := r.out.wait(t, 1); len(got) != 1 || got[0].Line != "after" {
		t.Fatalf("lines %q", lines(got))
	}
	if v := value(r.m.emptyMessages); v != 1 {
		t.Errorf("promtail_syslog_empty_messages_total = %v, want 1", v)
	}
}

func TestUDP(t *testing.T) {
	r := start(t, strings.Replace(fmt.Sprintf(rfc5424Job, true), "127.0.0.1:0", "127.0.0.1:0\n  listen_protocol: udp", 1))
	c := dial(t, r)
	for _, m := range rfc5424Msgs {
		write(t, c, m) // one message per datagram, no framing
	}
	write(t, c, "<999>broken")
	write(t, c, newline("<165>1 - h a - - - two", "<165>1 - h a - - - in one datagram"))
	got := r.out.wait(t, 4)
	if strings.Join(lines(got), "|") != "first event|second event|two|in one datagram" {
		t.Fatalf("lines %q", lines(got))
	}
	wantLabels(t, got[0], model.LabelSet{"job": "syslog", "host": "host5", "app": "app1", "level": "notice",
		"facility": "local4", "pid": "123", "msgid": "id1", "exkey": "1", "ip": "127.0.0.1"})
	if v := value(r.m.parsingErrors); v != 1 {
		t.Errorf("promtail_syslog_target_parsing_errors_total = %v, want 1", v)
	}
}

func TestPipelineAndRelabelDrop(t *testing.T) {
	r := start(t, `
job_name: s
syslog: {listen_address: 127.0.0.1:0, labels: {job: s}}
relabel_configs:
  - {source_labels: [__syslog_message_app_name], regex: noisy, action: drop}
pipeline_stages:
  - regex: {expression: 'user=(?P<user>\w+)'}
  - labels: {user: }`)
	write(t, dial(t, r), newline(`<165>1 - h noisy - - - dropped`, `<165>1 - h app - - - login user=ann`))
	got := r.out.wait(t, 1)
	if len(got) != 1 || got[0].Line != "login user=ann" {
		t.Fatalf("lines %q", lines(got))
	}
	wantLabels(t, got[0], model.LabelSet{"job": "s", "user": "ann"})
}

func TestStopClosesOpenConnections(t *testing.T) {
	r := start(t, "job_name: s\nsyslog: {listen_address: 127.0.0.1:0, labels: {job: s}}")
	c := dial(t, r)
	write(t, c, newline(`<165>1 - - - - - - hi`))
	r.out.wait(t, 1)
	r.stop() // fails the test if Run does not return
	_ = c.SetReadDeadline(time.Now().Add(10 * time.Second))
	if _, err := c.Read(make([]byte, 1)); err != io.EOF {
		t.Fatalf("read after stop: %v, want EOF", err)
	}
	if _, err := net.Dial("tcp", r.t.Addr().String()); err == nil {
		t.Error("the listener still accepts after stop")
	}
}

func value(c prometheus.Counter) float64 {
	var m dto.Metric
	if err := c.Write(&m); err != nil {
		panic(err)
	}
	return m.GetCounter().GetValue()
}
