// Command logcli is Sluice's command-line client. It has the commands, flags, environment
// variables and output of Grafana Loki's logcli, so existing scripts keep working, and it talks
// to Sluice or to Loki. The work is done by package logcli; this file reads flags and wires.
package main

import (
	"context"
	"fmt"
	"io"
	"log"
	"os"
	"os/signal"
	"runtime"
	"runtime/pprof"
	"strings"
	"syscall"
	"time"
	"unicode"

	"github.com/alecthomas/kingpin/v2"
	"golang.org/x/term"

	"github.com/sluicelog/sluice/pkg/logcli"
)

// version is set at build time with -ldflags "-X main.version=...".
var version = "dev"

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], os.Stdin, os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

// isTerminal reports whether w is a terminal that takes colours (NO_COLOR and TERM=dumb say no).
func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok || !term.IsTerminal(int(f.Fd())) {
		return false
	}
	return os.Getenv("NO_COLOR") == "" && os.Getenv("TERM") != "dumb"
}

// timeFlags are --since, --from and --to, which most commands share.
type timeFlags struct {
	since    *time.Duration
	from, to *string
}

func addTimeFlags(cmd *kingpin.CmdClause, what string) timeFlags {
	return timeFlags{
		since: cmd.Flag("since", "How far back from now to look").Default("1h").Duration(),
		from:  cmd.Flag("from", "Earliest time of "+what+", inclusive (RFC3339 or Unix time)").String(),
		to:    cmd.Flag("to", "Latest time of "+what+", exclusive (RFC3339 or Unix time)").String(),
	}
}

// labelFlags shape how streams' labels are printed.
type labelFlags struct {
	noLabels, includeCommon, colored *bool
	exclude, include                 *[]string
	fixedLen                         *int
}

func addLabelFlags(cmd *kingpin.CmdClause) labelFlags {
	return labelFlags{
		noLabels:      cmd.Flag("no-labels", "Leave labels out of the output").Bool(),
		exclude:       cmd.Flag("exclude-label", "Leave this label out of the output (repeatable)").Strings(),
		include:       cmd.Flag("include-label", "Print only this label (repeatable)").Strings(),
		includeCommon: cmd.Flag("include-common-labels", "Print the labels common to all streams on every line too").Bool(),
		fixedLen:      cmd.Flag("labels-length", "Pad labels to at least this width").Default("0").Int(),
		colored:       cmd.Flag("colored-output", "Give each stream its own label colour (on a terminal)").Bool(),
	}
}

func (l labelFlags) apply(q *logcli.Query) {
	q.IgnoreLabelsKey = *l.exclude
	q.ShowLabelsKey = *l.include
	q.IncludeCommonLabels = *l.includeCommon
	q.FixedLabelsLen = *l.fixedLen
}

func run(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) (code int) {
	app := kingpin.New("logcli", "Query Sluice or Loki from the command line.")
	app.Version(version)
	app.UsageWriter(stdout)
	app.ErrorWriter(stderr)
	// kingpin ends the program after --help, --version and completion output; unwind to run's
	// caller instead, so that tests can call run.
	app.Terminate(func(c int) { panic(terminated(c)) })

	// kingpin writes the bash and zsh completion scripts; fish gets one here that asks the
	// same completion engine (--completion-bash) for candidates.
	app.Flag("completion-script-fish", "Generate completion script for fish.").Hidden().PreAction(func(*kingpin.ParseContext) error {
		fmt.Fprint(stdout, fishCompletion)
		panic(terminated(0))
	}).Bool()

	quiet := app.Flag("quiet", "Do not print query metadata (URLs, common labels) to stderr").Short('q').Bool()
	statistics := app.Flag("stats", "Print the statistics the server returns with each response to stderr").Bool()
	outputMode := app.Flag("output", "Output format of log lines: default, raw (the line alone) or jsonl").
		Default("default").Short('o').Enum(logcli.ModeDefault, logcli.ModeRaw, logcli.ModeJSONL)
	timezone := app.Flag("timezone", "Timezone of printed timestamps: Local, UTC or an IANA zone name").
		Default("Local").Short('z').String()
	cpuProfile := app.Flag("cpuprofile", "Write a CPU profile to this file").Default("").String()
	memProfile := app.Flag("memprofile", "Write a heap profile to this file").Default("").String()
	useStdin := app.Flag("stdin", "Run the query over log lines read from standard input instead of a server").Bool()

	var cc logcli.ClientConfig
	app.Flag("addr", "Address of the Sluice or Loki server").Default("http://localhost:3100").Envar("LOKI_ADDR").StringVar(&cc.Addr)
	app.Flag("username", "HTTP basic auth user").Default("").Envar("LOKI_USERNAME").StringVar(&cc.Username)
	app.Flag("password", "HTTP basic auth password").Default("").Envar("LOKI_PASSWORD").StringVar(&cc.Password)
	app.Flag("ca-cert", "PEM file of the CA that signed the server certificate").Default("").Envar("LOKI_CA_CERT_PATH").StringVar(&cc.CAFile)
	app.Flag("tls-skip-verify", "Do not verify the server certificate").Default("false").Envar("LOKI_TLS_SKIP_VERIFY").BoolVar(&cc.TLSSkipVerify)
	app.Flag("cert", "PEM client certificate for mutual TLS").Default("").Envar("LOKI_CLIENT_CERT_PATH").StringVar(&cc.CertFile)
	app.Flag("key", "PEM key of the client certificate").Default("").Envar("LOKI_CLIENT_KEY_PATH").StringVar(&cc.KeyFile)
	app.Flag("org-id", "Tenant to query, sent as X-Scope-OrgID").Default("").Envar("LOKI_ORG_ID").StringVar(&cc.OrgID)
	app.Flag("query-tags", "Value of the X-Query-Tags header, for tracking queries in server metrics").Default("").Envar("LOKI_QUERY_TAGS").StringVar(&cc.QueryTags)
	app.Flag("nocache", "Send Cache-Control: no-cache so that results caches are bypassed").Default("false").Envar("LOKI_NO_CACHE").BoolVar(&cc.NoCache)
	app.Flag("bearer-token", "Bearer token sent in the auth header").Default("").Envar("LOKI_BEARER_TOKEN").StringVar(&cc.BearerToken)
	app.Flag("bearer-token-file", "File holding the bearer token").Default("").Envar("LOKI_BEARER_TOKEN_FILE").StringVar(&cc.BearerTokenFile)
	app.Flag("retries", "Retries of a request that failed to connect or got a 5xx or 429 answer").Default("0").Envar("LOKI_CLIENT_RETRIES").IntVar(&cc.Retries)
	app.Flag("min-backoff", "First wait between retries, doubled each time").Default("0").Envar("LOKI_CLIENT_MIN_BACKOFF").DurationVar(&cc.MinBackoff)
	app.Flag("max-backoff", "Longest wait between retries").Default("0").Envar("LOKI_CLIENT_MAX_BACKOFF").DurationVar(&cc.MaxBackoff)
	app.Flag("auth-header", "Header that carries basic or bearer credentials").Default("Authorization").Envar("LOKI_AUTH_HEADER").StringVar(&cc.AuthHeader)
	app.Flag("proxy-url", "HTTP(S) proxy for all requests").Default("").Envar("LOKI_HTTP_PROXY_URL").StringVar(&cc.ProxyURL)
	app.Flag("compress", "Ask the server for gzip-compressed responses").Default("false").Envar("LOKI_HTTP_COMPRESSION").BoolVar(&cc.Compress)
	app.Flag("header", "Add a header to every API request, as \"Name: value\". Repeatable.").StringsVar(&cc.Headers)

	// query
	queryCmd := app.Command("query", queryHelp)
	queryStr := queryCmd.Arg("query", "LogQL query, e.g. '{app=\"api\"} |= \"error\"'").Required().String()
	qLimit := queryCmd.Flag("limit", "Most log lines to print; 0 prints all").Default("30").Int()
	qTime := addTimeFlags(queryCmd, "logs")
	qStep := queryCmd.Flag("step", "Step between evaluations of a metric query").Duration()
	qInterval := queryCmd.Flag("interval", "Experimental: return log lines only at this interval, skipping those between").Duration()
	qBatch := queryCmd.Flag("batch", "Lines asked for per request while paging towards --limit").Default("1000").Int()
	qParDur := queryCmd.Flag("parallel-duration", "Length of each parallel download job; without --part-path-prefix the output of jobs interleaves").Default("1h").Duration()
	qParWorkers := queryCmd.Flag("parallel-max-workers", "Number of jobs downloaded at once; above 1, --limit is ignored").Default("1").Int()
	qPartPrefix := queryCmd.Flag("part-path-prefix", "Write each job to <prefix>_<utc start>_<utc end>.part instead of stdout").String()
	qOverwrite := queryCmd.Flag("overwrite-completed-parts", "Download again jobs whose part file is already complete").Bool()
	qMerge := queryCmd.Flag("merge-parts", "Print the part files to stdout in time order as they complete, then delete them").Bool()
	qKeep := queryCmd.Flag("keep-parts", "Keep the part files after --merge-parts printed them").Bool()
	qForward := queryCmd.Flag("forward", "Print oldest lines first").Bool()
	qLabels := addLabelFlags(queryCmd)
	qTail := queryCmd.Flag("tail", "Follow new lines live").Short('t').Bool()
	qFollow := queryCmd.Flag("follow", "Same as --tail").Short('f').Bool()
	qDelay := queryCmd.Flag("delay-for", "Seconds the server waits to put tailed lines in order").Default("0").Int()

	// instant-query
	instantCmd := app.Command("instant-query", instantHelp)
	instantStr := instantCmd.Arg("query", "LogQL metric query, e.g. 'sum(rate({app=\"api\"}[5m]))'").Required().String()
	iLimit := instantCmd.Flag("limit", "Most log lines to print; 0 prints all").Default("30").Int()
	iNow := instantCmd.Flag("now", "Time to evaluate the query at (default now)").String()
	iForward := instantCmd.Flag("forward", "Print oldest lines first").Bool()
	iLabels := addLabelFlags(instantCmd)

	// labels
	labelsCmd := app.Command("labels", "List label names, or the values of one label")
	labelName := labelsCmd.Arg("label", "Label whose values to list; none lists label names").String()
	lTime := addTimeFlags(labelsCmd, "labels")

	// series
	seriesCmd := app.Command("series", seriesHelp)
	seriesMatcher := seriesCmd.Arg("matcher", "Stream selector, e.g. '{app=\"api\"}'").String()
	seriesMatch := seriesCmd.Flag("match", "Deprecated: the matcher, as a flag.").Hidden().String()
	sTime := addTimeFlags(seriesCmd, "logs")
	sAnalyze := seriesCmd.Flag("analyze-labels", "Print per-label counts of values and streams instead of the streams").Bool()

	// fmt
	fmtCmd := app.Command("fmt", "Pretty-print the LogQL query read from standard input")

	// stats
	statsCmd := app.Command("stats", statsHelp)
	statsStr := statsCmd.Arg("query", "LogQL query, e.g. '{app=\"api\"} |= \"error\"'").Required().String()
	stTime := addTimeFlags(statsCmd, "logs")

	// volume, volume_range
	volumeCmd := app.Command("volume", volumeHelp)
	volumeStr := volumeCmd.Arg("query", "Stream selector, e.g. '{app=\"api\"}'").Required().String()
	vTime := addTimeFlags(volumeCmd, "logs")
	vLimit := volumeCmd.Flag("limit", "Most series to return volumes for").Default("30").Int()
	vTargets := volumeCmd.Flag("targetLabels", "Labels to group volumes by (repeatable)").Strings()
	vByLabels := volumeCmd.Flag("aggregateByLabels", "Group volumes by label name only").Bool()

	volumeRangeCmd := app.Command("volume_range", volumeRangeHelp)
	volumeRangeStr := volumeRangeCmd.Arg("query", "Stream selector, e.g. '{app=\"api\"}'").Required().String()
	vrTime := addTimeFlags(volumeRangeCmd, "logs")
	vrLimit := volumeRangeCmd.Flag("limit", "Most series to return volumes for").Default("30").Int()
	vrTargets := volumeRangeCmd.Flag("targetLabels", "Labels to group volumes by (repeatable)").Strings()
	vrByLabels := volumeRangeCmd.Flag("aggregateByLabels", "Group volumes by label name only").Bool()
	vrStep := volumeRangeCmd.Flag("step", "Width of each volume bucket").Default("1h").Duration()

	// detected-fields
	dfCmd := app.Command("detected-fields", detectedFieldsHelp)
	dfQuery := dfCmd.Arg("query", "LogQL query, e.g. '{app=\"api\"} |= \"error\"'").Required().String()
	dfField := dfCmd.Arg("field", "The name of the field.").String()
	dfLimit := dfCmd.Flag("limit", "Most fields (or values) to return").Default("100").Int()
	dfLineLimit := dfCmd.Flag("line-limit", "Most lines each subquery reads").Default("1000").Int()
	dfTime := addTimeFlags(dfCmd, "logs")
	dfStep := dfCmd.Flag("step", "Step between evaluations of a metric query").Default("10s").Duration()

	// delete
	deleteCmd := app.Command("delete", "Manage log deletion requests.")
	delCreate := deleteCmd.Command("create", "Create a request to delete the log lines matching a query in a time range.")
	delQuery := delCreate.Arg("query", "Selector (and optional line filters) of the lines to delete").Required().String()
	delTime := addTimeFlags(delCreate, "logs to delete")
	delMaxInterval := delCreate.Flag("max-interval", "Split the deletion into requests covering at most this interval (the server's max_interval parameter).").String()
	delList := deleteCmd.Command("list", "List delete requests.")
	delListJSON := delList.Flag("json", "Print the requests as a JSON array.").Bool()
	delCancel := deleteCmd.Command("cancel", "Cancel a delete request.")
	delCancelID := delCancel.Arg("request-id", "The ID of the delete request.").Required().String()
	delCancelForce := delCancel.Flag("force", "Cancel even if the request is partly processed.").Bool()

	cmd, exited, err := parse(app, args)
	if exited >= 0 {
		return exited
	}
	logger := log.New(stderr, "", log.LstdFlags)
	if err != nil {
		fmt.Fprintf(stderr, "logcli: error: %v, try --help\n", err)
		return 1
	}
	fail := func(err error) int {
		msg := err.Error()
		if r := []rune(msg); len(r) > 0 {
			r[0] = unicode.ToUpper(r[0])
			msg = string(r)
		}
		logger.Print(msg)
		return 1
	}

	if *cpuProfile != "" {
		f, err := os.Create(*cpuProfile)
		if err != nil {
			return fail(fmt.Errorf("create cpu profile: %w", err))
		}
		if err := pprof.StartCPUProfile(f); err != nil {
			return fail(fmt.Errorf("start cpu profile: %w", err))
		}
		defer func() { pprof.StopCPUProfile(); f.Close() }()
	}
	if *memProfile != "" {
		defer func() {
			f, err := os.Create(*memProfile)
			if err != nil {
				logger.Printf("create memory profile: %v", err)
				return
			}
			runtime.GC()
			if err := pprof.WriteHeapProfile(f); err != nil {
				logger.Printf("write memory profile: %v", err)
			}
			f.Close()
		}()
	}

	loc, err := logcli.LoadTimezone(*timezone)
	if err != nil {
		return fail(err)
	}
	color := isTerminal(stdout)
	newOutput := func(l labelFlags) (logcli.LogOutput, logcli.LogOutput, error) {
		opts := logcli.OutputOptions{Timezone: loc, NoLabels: *l.noLabels, Color: color, ColoredOutput: *l.colored}
		out, err := logcli.NewLogOutput(*outputMode, opts)
		if err != nil {
			return nil, nil, err
		}
		opts.Color = false
		part, err := logcli.NewLogOutput(*outputMode, opts)
		return out, part, err
	}
	printer := &logcli.Printer{Stdout: stdout, Log: logger, Stats: *statistics}
	if isTerminal(stderr) && !*quiet {
		printer.Progress = stderr
	}

	// fmt and --stdin need no server.
	if cmd == fmtCmd.FullCommand() {
		return runFmt(stdin, stdout, fail)
	}
	cc.Quiet = *quiet
	cc.Logger = logger
	cc.UserAgent = "sluice-logcli/" + version
	now := time.Now()
	timeRange := func(tf timeFlags) (time.Time, time.Time, error) {
		return logcli.TimeRange(now, *tf.since, *tf.from, *tf.to, loc)
	}

	if *useStdin {
		if cmd != queryCmd.FullCommand() && cmd != instantCmd.FullCommand() {
			return fail(fmt.Errorf("--stdin works with the query and instant-query commands only"))
		}
		q := &logcli.Query{QueryString: *queryStr, Limit: *qLimit, Forward: *qForward, Quiet: *quiet}
		if cmd == instantCmd.FullCommand() {
			q.QueryString, q.Limit, q.Forward = *instantStr, *iLimit, *iForward
		}
		l := qLabels
		if cmd == instantCmd.FullCommand() {
			l = iLabels
		}
		l.apply(q)
		out, _, err := newOutput(l)
		if err != nil {
			return fail(err)
		}
		printer.Output = out
		if err := logcli.RunStdin(ctx, q, stdin, printer); err != nil {
			return fail(err)
		}
		return 0
	}

	client, err := logcli.NewClient(cc)
	if err != nil {
		return fail(err)
	}

	switch cmd {
	case queryCmd.FullCommand():
		start, end, err := timeRange(qTime)
		if err != nil {
			return fail(err)
		}
		q := &logcli.Query{
			QueryString: *queryStr, Start: start, End: end, Limit: *qLimit, BatchSize: *qBatch,
			Forward: *qForward, Step: *qStep, Interval: *qInterval, Quiet: *quiet,
			ParallelDuration: *qParDur, ParallelMaxWorkers: *qParWorkers, PartPathPrefix: *qPartPrefix,
			OverwriteCompletedParts: *qOverwrite, MergeParts: *qMerge, KeepParts: *qKeep,
			DelayFor: time.Duration(*qDelay) * time.Second,
		}
		qLabels.apply(q)
		if printer.Output, printer.PartOutput, err = newOutput(qLabels); err != nil {
			return fail(err)
		}
		if *qTail || *qFollow {
			err = q.Tail(ctx, client, printer)
		} else {
			err = q.DoQuery(ctx, client, printer)
		}
		if err != nil {
			return fail(err)
		}
	case instantCmd.FullCommand():
		at := now
		if *iNow != "" {
			if at, err = logcli.ParseTime(*iNow, loc); err != nil {
				return fail(fmt.Errorf("--now: %w", err))
			}
		}
		q := &logcli.Query{QueryString: *instantStr, Limit: *iLimit, Forward: *iForward, Quiet: *quiet}
		iLabels.apply(q)
		if printer.Output, _, err = newOutput(iLabels); err != nil {
			return fail(err)
		}
		if err := q.DoInstant(ctx, client, printer, at); err != nil {
			return fail(err)
		}
	case labelsCmd.FullCommand():
		start, end, err := timeRange(lTime)
		if err != nil {
			return fail(err)
		}
		q := &logcli.LabelQuery{LabelName: *labelName, Start: start, End: end}
		if err := q.Do(ctx, client, stdout); err != nil {
			return fail(err)
		}
	case seriesCmd.FullCommand():
		start, end, err := timeRange(sTime)
		if err != nil {
			return fail(err)
		}
		matcher := *seriesMatcher
		if matcher == "" {
			matcher = *seriesMatch
		}
		if matcher == "" {
			return fail(fmt.Errorf("series needs a matcher, eg '{app=\"api\"}' ('{}' for all streams)"))
		}
		q := &logcli.SeriesQuery{Matcher: matcher, Start: start, End: end, AnalyzeLabels: *sAnalyze}
		if err := q.Do(ctx, client, stdout); err != nil {
			return fail(err)
		}
	case statsCmd.FullCommand():
		start, end, err := timeRange(stTime)
		if err != nil {
			return fail(err)
		}
		q := &logcli.StatsQuery{QueryString: *statsStr, Start: start, End: end}
		if err := q.Do(ctx, client, stdout); err != nil {
			return fail(err)
		}
	case volumeCmd.FullCommand(), volumeRangeCmd.FullCommand():
		rangeQuery := cmd == volumeRangeCmd.FullCommand()
		tf, p := vTime, logcli.VolumeParams{Query: *volumeStr, Limit: *vLimit, TargetLabels: *vTargets, AggregateByLabels: *vByLabels}
		if rangeQuery {
			tf, p = vrTime, logcli.VolumeParams{Query: *volumeRangeStr, Limit: *vrLimit, TargetLabels: *vrTargets, AggregateByLabels: *vrByLabels, Step: *vrStep}
		}
		if p.Start, p.End, err = timeRange(tf); err != nil {
			return fail(err)
		}
		q := &logcli.VolumeQuery{VolumeParams: p, Range: rangeQuery}
		if err := q.Do(ctx, client, stdout); err != nil {
			return fail(err)
		}
	case dfCmd.FullCommand():
		start, end, err := timeRange(dfTime)
		if err != nil {
			return fail(err)
		}
		q := &logcli.DetectedFieldsQuery{
			DetectedFieldsParams: logcli.DetectedFieldsParams{Query: *dfQuery, Start: start, End: end, Limit: *dfLimit, LineLimit: *dfLineLimit, Step: *dfStep},
			FieldName:            *dfField,
			Bold:                 color,
		}
		if err := q.Do(ctx, client, stdout); err != nil {
			return fail(err)
		}
	case delCreate.FullCommand():
		start, end, err := timeRange(delTime)
		if err != nil {
			return fail(err)
		}
		q := &logcli.DeleteQuery{QueryString: *delQuery, Start: start, End: end, MaxInterval: *delMaxInterval, Quiet: *quiet}
		if err := q.Create(ctx, client, stdout); err != nil {
			return fail(err)
		}
	case delList.FullCommand():
		q := &logcli.DeleteQuery{Quiet: *quiet}
		if err := q.List(ctx, client, stdout, *delListJSON || *outputMode == logcli.ModeJSONL); err != nil {
			return fail(err)
		}
	case delCancel.FullCommand():
		q := &logcli.DeleteQuery{Quiet: *quiet}
		if err := q.Cancel(ctx, client, stdout, *delCancelID, *delCancelForce); err != nil {
			return fail(err)
		}
	default:
		return fail(fmt.Errorf("unknown command %q", cmd))
	}
	return 0
}

// terminated is the exit code kingpin asked for.
type terminated int

// parse runs app.Parse; exited is the exit code when kingpin finished the program itself
// (help, version, completion), or -1.
func parse(app *kingpin.Application, args []string) (cmd string, exited int, err error) {
	exited = -1
	defer func() {
		if r := recover(); r != nil {
			c, ok := r.(terminated)
			if !ok {
				panic(r)
			}
			exited = int(c)
		}
	}()
	cmd, err = app.Parse(args)
	return cmd, exited, err
}

// runFmt formats the LogQL query read from stdin.
func runFmt(stdin io.Reader, stdout io.Writer, fail func(error) int) int {
	b, err := io.ReadAll(stdin)
	if err != nil {
		return fail(fmt.Errorf("read query from stdin: %w", err))
	}
	out, err := logcli.FormatQuery(strings.TrimSpace(string(b)))
	if err != nil {
		return fail(err)
	}
	fmt.Fprintln(stdout, out)
	return 0
}

// fishCompletion completes logcli's commands and flags in fish through kingpin's completion
// engine, as the bash script does.
const fishCompletion = `function __logcli_complete
    set -l args (commandline -opc)
    set -e args[1]
    logcli --completion-bash $args (commandline -ct) 2>/dev/null
end
complete -c logcli -f -a '(__logcli_complete)'
`
