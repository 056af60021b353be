#!/usr/bin/env bash
# The storage-engine benchmark (`make bench-storage`, part of `make bench`): builds bin/sluice and
# bin/loadgen, starts a fresh server on 127.0.0.1 with a temporary data directory, pushes the
# loadgen workload (2,000,000 lines, ~473 MB by default), flushes, and reports ingest rate,
# CPU-seconds per GB, peak RSS, bytes on disk and query times against the project's targets.
#
# Settings (environment):
#   LINES=2000000   lines to push            SEED=1       workload seed
#   WORKERS=4       parallel pushers         RUNS=3       runs of each query (best is reported)
#   PROFILE=0       1: run the pprof variant (scripts/bench/pprofsluice) and write CPU profiles
#                   of the ingest and of the queries, with their `pprof -top` beside them (the
#                   profiler costs CPU too: 10.6 against 9.4-9.7 CPU-s/GB in one run, so the
#                   CPU-per-GB target is then not judged)
#   PREPARE=0       1: the loadgen builds every request before pushing (-prepare), so the push
#                   rate is the server's own rather than the generator's (the server then takes
#                   both cores, and holds more requests in flight)
#   PERF=0          1: count the server's instructions and cycles over the push and flush with
#                   `perf stat` (an instruction count hardly moves when other work shares the
#                   machine, so it is what to compare two versions by). Attaching perf costs the
#                   server CPU time on a virtual machine: every switch of a counted thread
#                   reprograms the virtual PMU, which traps to the hypervisor. Here it took the
#                   push and flush from 3.1-3.2 to 5.1-5.3 CPU-seconds (three alternated runs), so
#                   with PERF=1 the CPU-per-GB target is reported but not judged.
#   OUT=            results directory (default: a new directory under ${TMPDIR:-/tmp})
#   KEEP=0          1: keep the server's data directory
#   MAX_RSS_MB=8192 the server is killed (and the run fails) if its RSS passes this: the machine
#                   is shared, and a runaway query should not take it down
#   GO=go
# Needs curl, jq and awk. Exits non-zero when a step fails (not when a target is missed).
set -euo pipefail

GO=${GO:-go}
LINES=${LINES:-2000000}
SEED=${SEED:-1}
WORKERS=${WORKERS:-4}
RUNS=${RUNS:-3}
PROFILE=${PROFILE:-0}
PREPARE=${PREPARE:-0}
PERF=${PERF:-0}
KEEP=${KEEP:-0}
MAX_RSS_MB=${MAX_RSS_MB:-8192}
NEEDLE=OutOfMemoryError

for tool in curl jq awk; do
	command -v "$tool" >/dev/null || { echo "bench: $tool is required" >&2; exit 1; }
done
cd "$(dirname "$0")/../.."
ROOT=$(pwd)
. scripts/bench/lib.sh
OUT=${OUT:-$(mktemp -d "${TMPDIR:-/tmp}/sluice-bench.XXXXXX")}
mkdir -p "$OUT"
DATA=$(mktemp -d "${TMPDIR:-/tmp}/sluice-bench-data.XXXXXX")
TICK=$(getconf CLK_TCK)
PID=
WATCH=

cleanup() {
	if [ -n "$WATCH" ]; then kill "$WATCH" 2>/dev/null || true; fi
	if [ -n "$PID" ] && kill -0 "$PID" 2>/dev/null; then kill -KILL "$PID" 2>/dev/null || true; fi
	if [ "$KEEP" != 1 ]; then rm -rf "$DATA"; fi
}
trap cleanup EXIT

log() { echo "bench: $*" >&2; }

# ---- build
log "building into bin/ (results in $OUT)"
mkdir -p bin
CGO_ENABLED=0 "$GO" build -trimpath -o bin/sluice ./cmd/sluice
CGO_ENABLED=0 "$GO" build -trimpath -o bin/loadgen ./cmd/loadgen
SERVER=bin/sluice
if [ "$PROFILE" = 1 ]; then
	CGO_ENABLED=0 "$GO" build -trimpath -o bin/sluice-pprof ./scripts/bench/pprofsluice
	SERVER=bin/sluice-pprof
fi

# ---- start the server on a free port (port 0; the address is read from its log)
"$SERVER" "${BENCH_SERVER_FLAGS[@]}" -common.path-prefix="$DATA" >"$OUT/server.log" 2>&1 &
PID=$!
URL=
for _ in $(seq 1 300); do
	URL=$(sed -n 's/.*sluice is ready.*addr=\([0-9.:]*\).*/http:\/\/\1/p' "$OUT/server.log" | head -1)
	[ -n "$URL" ] && break
	kill -0 "$PID" 2>/dev/null || { cat "$OUT/server.log" >&2; log "server exited at start"; exit 1; }
	sleep 0.1
done
[ -n "$URL" ] || { cat "$OUT/server.log" >&2; log "server not ready after 30s"; exit 1; }
PPROF=
if [ "$PROFILE" = 1 ]; then
	PPROF=http://$(sed -n 's/^pprof listening on //p' "$OUT/server.log" | head -1)
fi
curl -fsS "$URL/ready" >/dev/null
log "server pid $PID at $URL, data in $DATA"
# RSS guard: poll once a second; kill the server if it grows past MAX_RSS_MB.
(
	while kill -0 "$PID" 2>/dev/null; do
		rss=$(awk '$1 == "VmRSS:" {print int($2 / 1024)}' "/proc/$PID/status" 2>/dev/null || echo 0)
		if [ "${rss:-0}" -gt "$MAX_RSS_MB" ]; then
			echo "bench: server RSS ${rss} MiB passed MAX_RSS_MB=$MAX_RSS_MB; killing it" >&2
			kill -KILL "$PID"
			exit 0
		fi
		sleep 1
	done
) &
WATCH=$!

cpu_ticks() { awk '{print $14 + $15}' "/proc/$PID/stat"; }
vm() { awk -v k="$1:" '$1 == k {print $2 * 1024}' "/proc/$PID/status"; } # bytes
now() { date +%s.%N; }
profile_start() {
	[ -z "$PPROF" ] && return 0
	curl -fsS -o "$OUT/$1-allocs-before.pb.gz" "$PPROF/debug/pprof/allocs"
	curl -fsS -X POST "$PPROF/bench/cpuprofile/start?path=$OUT/$1.pprof"
}
profile_stop() {
	[ -z "$PPROF" ] && return 0
	curl -fsS -X POST "$PPROF/bench/cpuprofile/stop"
	"$GO" tool pprof -top -nodecount=25 "$SERVER" "$OUT/$1.pprof" >"$OUT/$1-top.txt" 2>/dev/null || true
	"$GO" tool pprof -top -cum -nodecount=25 "$SERVER" "$OUT/$1.pprof" >"$OUT/$1-top-cum.txt" 2>/dev/null || true
	# Bytes allocated during the phase, by function (allocs is cumulative: diff two snapshots).
	curl -fsS -o "$OUT/$1-allocs-after.pb.gz" "$PPROF/debug/pprof/allocs"
	"$GO" tool pprof -top -sample_index=alloc_space -nodecount=15 -diff_base="$OUT/$1-allocs-before.pb.gz" \
		"$SERVER" "$OUT/$1-allocs-after.pb.gz" >"$OUT/$1-alloc-top.txt" 2>/dev/null || true
}

# ---- ingest
END=$(date +%s)
RSS_START=$(vm VmRSS)
CPU0=$(cpu_ticks)
profile_start ingest
PERF_PID=
if [ "$PERF" = 1 ]; then
	command -v perf >/dev/null && perf stat -e instructions:u -p "$PID" -o /dev/null -- sleep 0.01 >/dev/null 2>&1 ||
		{ log "PERF=1, but perf cannot count the server's instructions here"; exit 1; }
	perf stat -x, -e instructions:u,instructions:k,cycles -p "$PID" -o "$OUT/perf-ingest.csv" &
	PERF_PID=$!
fi
log "pushing $LINES lines (seed $SEED, $WORKERS pushers)"
PREPARE_FLAG=
if [ "$PREPARE" = 1 ]; then PREPARE_FLAG=-prepare; fi
bin/loadgen -url "$URL/loki/api/v1/push" -lines "$LINES" -seed "$SEED" -workers "$WORKERS" \
	-end "$END" -progress 15s -json $PREPARE_FLAG >"$OUT/loadgen.json"
CPU_PUSH=$(cpu_ticks)
T0=$(now)
curl -fsS -X POST "$URL/flush"
FLUSH_S=$(awk -v a="$T0" -v b="$(now)" 'BEGIN{printf "%.2f", b - a}')
CPU1=$(cpu_ticks)
INSTR=
CYCLES=
if [ -n "$PERF_PID" ]; then
	kill -INT "$PERF_PID"
	wait "$PERF_PID" || true
	# user and kernel instructions, in G, and the cycles they took
	INSTR=$(awk -F, '$3 ~ /^instructions:u/ {u = $1} $3 ~ /^instructions:k/ {k = $1}
		END { if (u != "") printf "%.2f G user + %.2f G kernel", u / 1e9, k / 1e9 }' "$OUT/perf-ingest.csv")
	CYCLES=$(awk -F, '$3 ~ /^cycles/ && $1 + 0 > 0 {print $1}' "$OUT/perf-ingest.csv")
fi
profile_stop ingest
RSS_INGEST=$(vm VmHWM)

RAW=$(jq .raw_bytes "$OUT/loadgen.json")
SENT=$(jq .lines "$OUT/loadgen.json")
INGEST_S=$(jq .elapsed_seconds "$OUT/loadgen.json")
du_b() { if [ -e "$1" ]; then du -sb "$1" | awk '{print $1}'; else echo 0; fi; }
CHUNKS_B=$(du_b "$DATA/chunks")
INDEX_B=$(du_b "$DATA/index")
WAL_B=$(du_b "$DATA/wal")
DISK_B=$((CHUNKS_B + INDEX_B + WAL_B))

# ---- queries. query NAME PATH ARGS... runs it RUNS times; writes NAME.json (last response)
# and sets Q_WALL (best wall s), Q_EXEC (best execTime s), Q_WALL1 and Q_EXEC1 (the first run's:
# later runs may be answered from a results cache), Q_CPU (server CPU-s of the first run),
# Q_BYTES (totalBytesProcessed), Q_HWM (VmHWM after it), Q_RESULT (a short rendering of the result).
query() {
	local name=$1 path=$2
	shift 2
	local args=()
	for kv in "$@"; do args+=(--data-urlencode "$kv"); done
	local c0 c_first wall best_wall= best_exec= first_wall= first_exec=
	profile_start "$name"
	c0=$(cpu_ticks)
	for _ in $(seq 1 "$RUNS"); do
		wall=$(curl -fsS -G -o "$OUT/$name.json" -w '%{time_total}' "$URL$path" "${args[@]}") || {
			log "query $name failed"; cat "$OUT/$name.json" >&2 || true; exit 1; }
		local exec
		exec=$(jq '.data.stats.summary.execTime // 0' "$OUT/$name.json")
		[ -n "$first_wall" ] || { first_wall=$wall; first_exec=$exec; c_first=$(cpu_ticks); }
		best_wall=$(awk -v a="$best_wall" -v b="$wall" 'BEGIN{print (a == "" || b < a) ? b : a}')
		best_exec=$(awk -v a="$best_exec" -v b="$exec" 'BEGIN{print (a == "" || b < a) ? b : a}')
	done
	profile_stop "$name"
	Q_WALL=$best_wall
	Q_EXEC=$best_exec
	Q_WALL1=$first_wall
	Q_EXEC1=$first_exec
	Q_CPU=$(awk -v d=$((c_first - c0)) -v t="$TICK" 'BEGIN{printf "%.2f", d / t}')
	Q_BYTES=$(jq '.data.stats.summary.totalBytesProcessed // 0' "$OUT/$name.json")
	Q_HWM=$(vm VmHWM)
	Q_RESULT=$(jq -c '[.data.result[] | {m: .metric, v: (.value[1] // (.values | length | tostring + " points"))}] | .[:4]' "$OUT/$name.json")
}

mbps() { awk -v b="$1" -v s="$2" 'BEGIN{ if (s > 0) printf "%.0f", b / 1e6 / s; else print "n/a" }'; }

# The issue's benchmark is the ingest and the filter scan: the scan runs first, so the peak RSS
# of those two is read before the other queries (extras, reported without a target) raise it.
log "query: full line-filter scan"
query scan /loki/api/v1/query "query=sum(count_over_time({namespace=~\".+\"} |= \"$NEEDLE\" [24h]))" "time=$END"
SCAN_WALL=$Q_WALL SCAN_WALL1=$Q_WALL1 SCAN_EXEC1=$Q_EXEC1 SCAN_HWM=$Q_HWM SCAN_EXEC=$Q_EXEC SCAN_CPU=$Q_CPU SCAN_BYTES=$Q_BYTES SCAN_RESULT=$Q_RESULT

log "query: count every line"
query count /loki/api/v1/query "query=sum(count_over_time({namespace=~\".+\"}[24h]))" "time=$END"
COUNT=$(jq -r '.data.result[0].value[1] // "0"' "$OUT/count.json")
COUNT_WALL=$Q_WALL COUNT_WALL1=$Q_WALL1 COUNT_EXEC1=$Q_EXEC1 COUNT_HWM=$Q_HWM COUNT_EXEC=$Q_EXEC COUNT_CPU=$Q_CPU

log "query: json parser and label filter"
query json /loki/api/v1/query \
	"query=sum by (app) (count_over_time({container=\"server\"} | json | status >= 500 [24h]))" "time=$END"
JSON_WALL=$Q_WALL JSON_WALL1=$Q_WALL1 JSON_EXEC1=$Q_EXEC1 JSON_HWM=$Q_HWM JSON_EXEC=$Q_EXEC JSON_CPU=$Q_CPU JSON_BYTES=$Q_BYTES JSON_RESULT=$Q_RESULT

# One trace ID over everything, as Grafana's link from a trace to its logs searches: the ID of
# the newest JSON line that has one.
TRACE=$(curl -fsS -G "$URL/loki/api/v1/query_range" --data-urlencode 'query={container="server"} |= "trace_id"' \
	--data-urlencode "start=$((END - 86400))" --data-urlencode "end=$END" --data-urlencode "limit=1" |
	jq -r '.data.result[0].values[0][1] // ""' | sed -n 's/.*"trace_id":"\([0-9a-f]*\)".*/\1/p')
[ -n "$TRACE" ] || { log "no trace_id in the server container's lines"; exit 1; }
log "query: one trace ID ($TRACE)"
query trace /loki/api/v1/query "query=sum(count_over_time({namespace=~\".+\"} |= \"$TRACE\" [24h]))" "time=$END"
TRACE_WALL=$Q_WALL TRACE_WALL1=$Q_WALL1 TRACE_EXEC1=$Q_EXEC1 TRACE_EXEC=$Q_EXEC TRACE_CPU=$Q_CPU TRACE_RESULT=$Q_RESULT

log "query: sum by (app) (rate(...[1m])) over 24h, step 1m"
query rate /loki/api/v1/query_range "query=sum by (app) (rate({namespace=~\".+\"}[1m]))" \
	"start=$((END - 86400))" "end=$END" "step=60"
RATE_WALL=$Q_WALL RATE_WALL1=$Q_WALL1 RATE_EXEC1=$Q_EXEC1 RATE_HWM=$Q_HWM RATE_EXEC=$Q_EXEC RATE_CPU=$Q_CPU RATE_BYTES=$Q_BYTES RATE_RESULT=$Q_RESULT
RSS_PEAK=$(vm VmHWM)

# ---- stop (SIGTERM) and check the exit
T0=$(now)
kill -TERM "$PID"
set +e
wait "$PID"
EXIT=$?
set -e
PID=
STOP_S=$(awk -v a="$T0" -v b="$(now)" 'BEGIN{printf "%.2f", b - a}')
CHUNKS_END_B=$(du_b "$DATA/chunks")
INDEX_END_B=$(du_b "$DATA/index")
WAL_END_B=$(du_b "$DATA/wal")
DISK_END_B=$((CHUNKS_END_B + INDEX_END_B + WAL_END_B))

# ---- report
awk_calc() { awk "BEGIN{ $1 }"; }
INGEST_CPU_S=$(awk_calc "printf \"%.2f\", ($CPU1 - $CPU0) / $TICK")
PUSH_CPU_S=$(awk_calc "printf \"%.2f\", ($CPU_PUSH - $CPU0) / $TICK")
CPU_PER_GB=$(awk_calc "printf \"%.2f\", $INGEST_CPU_S / ($RAW / 1e9)")
RATIO=$(awk_calc "printf \"%.2f\", $RAW / $DISK_B")
RATIO_END=$(awk_calc "printf \"%.2f\", $RAW / $DISK_END_B")
SERVER_RAW=$(jq '.raw_bytes_by_container.server // 0' "$OUT/loadgen.json")
r3() { awk -v x="$1" 'BEGIN{printf "%.3f", x}'; }
MIB() { awk -v b="$1" 'BEGIN{printf "%.1f", b / 1048576}'; }
MB() { awk -v b="$1" 'BEGIN{printf "%.1f", b / 1e6}'; }
ok() { if awk "BEGIN{exit !($1)}"; then echo PASS; else echo MISS; fi; }
# The CPU target is judged only on a server that nothing else measures from inside: perf
# (PERF=1) and the CPU profiler (PROFILE=1) both charge it CPU time of their own.
cpu_verdict() {
	if [ -n "$PERF_PID" ]; then
		echo "not judged (perf attached)"
	elif [ "$PROFILE" = 1 ]; then
		echo "not judged (profiled)"
	else
		ok "$CPU_PER_GB <= 12"
	fi
}
per_core() { # raw MB the query had to read per server CPU-second
	awk -v b="$1" -v c="$2" 'BEGIN{ if (c > 0) printf "%.0f", b / 1e6 / c; else print "n/a" }'
}

{
	echo
	echo "Sluice storage benchmark  ($(date -u +%FT%TZ), $(nproc) cores, $(git rev-parse --short HEAD 2>/dev/null || echo '?')$( [ -n "$(git status --porcelain 2>/dev/null)" ] && echo '+dirty'))"
	echo "workload: $SENT lines, $RAW raw bytes ($(MB "$RAW") MB), seed $SEED, 100 streams, 24h ending $(date -u -d "@$END" +%FT%TZ)"
	echo
	printf '%-44s %-40s %-12s %s\n' "measure" "value" "target" ""
	printf '%-44s %-40s %-12s %s\n' "ingest rate (push)" "$(jq -r '"\(.lines_per_second | floor) lines/s"' "$OUT/loadgen.json"), $(jq -r '.mb_per_second * 100 | floor / 100' "$OUT/loadgen.json") MB/s" "" ""
	printf '%-44s %-40s %-12s %s\n' "flush after push" "${FLUSH_S} s" "" ""
	printf '%-44s %-40s %-12s %s\n' "server CPU, push + flush" "${INGEST_CPU_S} s (push ${PUSH_CPU_S} s)" "" ""
	[ -z "$INSTR" ] || printf '%-44s %-40s %-12s %s\n' "server instructions, push + flush (perf)" "$INSTR" "" ""
	[ -z "$CYCLES" ] || printf '%-44s %-40s %-12s %s\n' "server cycles, push + flush (perf)" "$(awk_calc "printf \"%.2f G\", $CYCLES / 1e9")" "" ""
	printf '%-44s %-40s %-12s %s\n' "server CPU per GB raw ingested" "${CPU_PER_GB} CPU-s/GB" "<= 12" "$(cpu_verdict)"
	printf '%-44s %-40s %-12s %s\n' "peak RSS after ingest (VmHWM)" "$(MIB "$RSS_INGEST") MiB" "<= 160 MiB" "$(ok "$RSS_INGEST <= 160 * 1048576")"
	printf '%-44s %-40s %-12s %s\n' "peak RSS after ingest + filter scan (VmHWM)" "$(MIB "$SCAN_HWM") MiB" "<= 160 MiB" "$(ok "$SCAN_HWM <= 160 * 1048576")"
	printf '%-44s %-40s %-12s %s\n' "peak RSS after each later query (VmHWM)" "count $(MIB "$COUNT_HWM"), json $(MIB "$JSON_HWM"), rate $(MIB "$RATE_HWM") MiB" "" ""
	printf '%-44s %-40s %-12s %s\n' "peak RSS after every query (VmHWM)" "$(MIB "$RSS_PEAK") MiB" "(none)" ""
	printf '%-44s %-40s %-12s %s\n' "on disk after flush: chunks / index / wal" "$(MB "$CHUNKS_B") / $(MB "$INDEX_B") / $(MB "$WAL_B") MB" "" ""
	printf '%-44s %-40s %-12s %s\n' "raw : on disk after flush (all three)" "${RATIO} : 1" ">= 8 : 1" "$(ok "$RATIO >= 8")"
	printf '%-44s %-40s %-12s %s\n' "on disk after stop: chunks / index / wal" "$(MB "$CHUNKS_END_B") / $(MB "$INDEX_END_B") / $(MB "$WAL_END_B") MB" "" ""
	printf '%-44s %-40s %-12s %s\n' "raw : on disk after stop (all three)" "${RATIO_END} : 1" ">= 8 : 1" "$(ok "$RATIO_END >= 8")"
	printf '%-44s %-40s %-12s %s\n' "count every line (lossless?)" "$COUNT of $SENT" "all" "$( [ "$COUNT" = "$SENT" ] && echo PASS || echo MISS)"
	printf '%-44s %-40s %-12s %s\n' "  count_over_time, no filter: exec, wall" "first $(r3 "$COUNT_EXEC1") s, $(r3 "$COUNT_WALL1") s; best $(r3 "$COUNT_EXEC") s, $(r3 "$COUNT_WALL") s" "" ""
	printf '%-44s %-40s %-12s %s\n' "full filter scan |= \"$NEEDLE\": exec, first" "$(r3 "$SCAN_EXEC1") s ($(mbps "$RAW" "$SCAN_EXEC1") MB/s)" "<= 0.4 s" "$(ok "$SCAN_EXEC1 <= 0.4")"
	printf '%-44s %-40s %-12s %s\n' "full filter scan: exec, best of $RUNS" "$(r3 "$SCAN_EXEC") s ($(mbps "$RAW" "$SCAN_EXEC") MB/s)" "<= 0.4 s" "$(ok "$SCAN_EXEC <= 0.4")"
	printf '%-44s %-40s %-12s %s\n' "full filter scan: wall, first / best" "$(r3 "$SCAN_WALL1") s / $(r3 "$SCAN_WALL") s" "<= 0.4 s" "$(ok "$SCAN_WALL <= 0.4")"
	printf '%-44s %-40s %-12s %s\n' "  server CPU (first run); raw MB/s per core" "$SCAN_CPU CPU-s; $(per_core "$RAW" "$SCAN_CPU") MB/s" "" ""
	printf '%-44s %-40s %-12s %s\n' "json | status >= 500: exec, wall" "first $(r3 "$JSON_EXEC1") s, $(r3 "$JSON_WALL1") s; best $(r3 "$JSON_EXEC") s, $(r3 "$JSON_WALL") s" "" ""
	printf '%-44s %-40s %-12s %s\n' "  server CPU (first run); raw MB/s per core" "$JSON_CPU CPU-s; $(per_core "$SERVER_RAW" "$JSON_CPU") MB/s (of $(MB "$SERVER_RAW") MB)" "" ""
	printf '%-44s %-40s %-12s %s\n' "trace ID |= \"<32 hex>\": exec, wall" "first $(r3 "$TRACE_EXEC1") s, $(r3 "$TRACE_WALL1") s; best $(r3 "$TRACE_EXEC") s, $(r3 "$TRACE_WALL") s" "" ""
	printf '%-44s %-40s %-12s %s\n' "  server CPU (first run); raw MB/s per core" "$TRACE_CPU CPU-s; $(per_core "$RAW" "$TRACE_CPU") MB/s" "" ""
	printf '%-44s %-40s %-12s %s\n' "sum by (app) (rate[1m]) 24h step 1m: wall" "first $(r3 "$RATE_WALL1") s; best $(r3 "$RATE_WALL") s (exec $(r3 "$RATE_EXEC1") / $(r3 "$RATE_EXEC"))" "" ""
	printf '%-44s %-40s %-12s %s\n' "  server CPU (first run); raw MB/s per core" "$RATE_CPU CPU-s; $(per_core "$RAW" "$RATE_CPU") MB/s" "" ""
	printf '%-44s %-40s %-12s %s\n' "shutdown (SIGTERM)" "exit $EXIT in ${STOP_S} s" "exit 0" "$( [ "$EXIT" = 0 ] && echo PASS || echo MISS)"
	echo
	echo "scan result: $SCAN_RESULT (stats totalBytesProcessed $SCAN_BYTES)"
	echo "json result: $JSON_RESULT (stats totalBytesProcessed $JSON_BYTES)"
	echo "trace result: $TRACE_RESULT (trace ID $TRACE)"
	echo "rate result: $RATE_RESULT (stats totalBytesProcessed $RATE_BYTES)"
	echo "(queries run $RUNS times: 'first' is the first run, 'best' the fastest (later runs may hit a results cache);"
	echo " CPU-s is the server's CPU in the first run (/proc utime+stime, 10 ms ticks); 'per core'"
	echo " is the raw bytes the query must read (all, or container=server's) per server CPU-second; exec is the"
	echo " response's stats.summary.execTime; MB = 1e6 bytes)"
	echo "details: $OUT (server.log, loadgen.json, query responses$( [ "$PROFILE" = 1 ] && echo ', *.pprof, *-top.txt'))"
} | tee "$OUT/report.txt"

if [ "$PROFILE" = 1 ]; then
	for p in ingest scan json trace rate; do
		echo
		echo "== CPU profile: $p (go tool pprof -top -nodecount=25 $SERVER $OUT/$p.pprof)"
		sed -n '1,40p' "$OUT/$p-top.txt"
		echo
		echo "== bytes allocated during $p (pprof -top -sample_index=alloc_space, diff of /debug/pprof/allocs)"
		sed -n '1,25p' "$OUT/$p-alloc-top.txt"
	done | tee -a "$OUT/report.txt"
fi
[ "$EXIT" = 0 ] || { log "server exited with $EXIT"; tail -20 "$OUT/server.log" >&2; exit 1; }
