package main

// Long help texts of the commands. Flag names, defaults and behaviour follow Loki's logcli; the
// wording is ours.

const queryHelp = `Run a LogQL query over a time range.

Log queries print one line per log entry. Choose the format with -o/--output:

  default: timestamp, stream labels, line
  raw:     the line alone
  jsonl:   one JSON object per line with labels, line and timestamp

Query metadata (request URL, labels common to every stream, labels left out) goes to stderr;
--quiet hides it.

The range is the last hour unless --since, or --from and --to (RFC3339, e.g.
"2021-01-19T10:00:00Z"; without a zone the --timezone applies), say otherwise.

At most 30 lines are printed unless --limit says otherwise (0: all). Large results are fetched in
pages of --batch lines.

Metric queries print every step of the range as JSON; use instant-query for a single point in time.

Parallel downloads: --parallel-duration cuts the range into jobs, --parallel-max-workers runs them
concurrently (--limit is then ignored). With --part-path-prefix each job writes
<prefix>_<start>_<end>.part (".part.tmp" while it downloads), completed parts are not fetched again
unless --overwrite-completed-parts, and --merge-parts prints the parts in time order as they
complete, deleting them afterwards unless --keep-parts.

Example:

  logcli query --timezone=UTC --from="2021-01-19T10:00:00Z" --to="2021-01-19T20:00:00Z" \
     --output=jsonl --parallel-duration=15m --parallel-max-workers=4 \
     --part-path-prefix=/tmp/my_query --merge-parts '{app="api"}'`

const instantHelp = `Run a LogQL query at a single point in time.

Use it for metric queries when only the latest value matters (a table rather than a graph). Log
queries belong to the "query" command.`

const seriesHelp = `List the streams that match a selector in the time range.

'{}' matches every stream. --analyze-labels prints, instead of the streams, how many distinct
values each label name has and in how many streams it appears: the quick way to find a
high-cardinality label.`

const statsHelp = `Show how much data the streams matching a selector hold in the time range:
bytes, chunks, streams and entries, as the index records them.`

const volumeHelp = `Show the volume (bytes) of the streams matching a selector in the time range,
grouped by stream or by the labels named with --targetLabels.`

const volumeRangeHelp = `Like volume, but as a time series with one bucket per --step.`

const detectedFieldsHelp = `List the fields the server detects (with the logfmt and json parsers) in the
lines a query returns, with their type and cardinality; with a field name, list that field's values.

At most --limit fields (default 100) are returned, and each subquery reads at most --line-limit
lines (default 1000).`
