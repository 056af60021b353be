package logcli_test

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/sluicelog/sluice/pkg/logcli"
)

func TestRunStdin(t *testing.T) {
	input := "level=info msg=\"ok\" took=1s\nlevel=error msg=\"timeout happened\" took=5s\r\nplain line timeout\n"
	tests := []struct {
		query, want string
	}{
		{`|= "timeout"`, "level=error msg=\"timeout happened\" took=5s\nplain line timeout\n"},
		{`{foo="bar"} |= "timeout"`, "level=error msg=\"timeout happened\" took=5s\nplain line timeout\n"},
		{`| logfmt | level="error"`, "level=error msg=\"timeout happened\" took=5s\n"},
		{`| logfmt | line_format "{{.msg}} in {{.took}}" |= " in "`, "ok in 1s\ntimeout happened in 5s\n in \n"},
		{`!= "timeout"`, "level=info msg=\"ok\" took=1s\n"},
	}
	for _, tt := range tests {
		t.Run(tt.query, func(t *testing.T) {
			cp := newCapture(t, "raw", logcli.OutputOptions{Timezone: time.UTC})
			q := &logcli.Query{QueryString: tt.query, Quiet: true}
			if err := logcli.RunStdin(ctx(t), q, strings.NewReader(input), &cp.p); err != nil {
				t.Fatal(err)
			}
			if got := cp.stdout.String(); got != tt.want {
				t.Errorf("RunStdin(%s) printed %q, want %q", tt.query, got, tt.want)
			}
		})
	}
}

func TestRunStdinErrors(t *testing.T) {
	cp := newCapture(t, "raw", logcli.OutputOptions{})
	err := logcli.RunStdin(ctx(t), &logcli.Query{QueryString: `count_over_time({a="b"}[1m])`}, strings.NewReader("x\n"), &cp.p)
	if !errors.Is(err, logcli.ErrStdinMetric) {
		t.Errorf("metric query: %v, want ErrStdinMetric", err)
	}
	err = logcli.RunStdin(ctx(t), &logcli.Query{QueryString: `|= `}, strings.NewReader("x\n"), &cp.p)
	if err == nil || !strings.Contains(err.Error(), "parse query") {
		t.Errorf("bad query: %v, want a parse error", err)
	}
}
