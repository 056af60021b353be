#!/usr/bin/env bash
# The promtail benchmark (`make bench-promtail`, part of `make bench`): builds bin/sluice,
# bin/promtail and bin/promtailwriter, starts a fresh Sluice on 127.0.0.1 with a temporary data
# directory, and measures promtail as a user sees it, shipping CRI pod logs to that Sluice:
#
#   1. throughput: LINES lines (~236 bytes of content each) are written into FILES files laid out
#      like /var/log/pods/<ns>_<pod>_<uid>/<container>/0.log BEFORE promtail starts; promtail is
#      started and timed until Sluice has received every line. Reports lines/s, MB/s of raw line
#      bytes, promtail CPU-s per GB (utime+stime from /proc/<pid>/stat) and peak RSS (VmHWM).
#   2. tailing many files: TAIL_FILES empty files are created, promtail is started, then
#      promtailwriter appends TAIL_RATE lines/s spread over all of them for TAIL_SECONDS.
#      Reports promtail's peak and steady RSS, goroutines (go_goroutines from its /metrics), open
#      file descriptors (/proc/<pid>/fd), CPU, and checks every line arrived.
#
# Settings (environment):
#   LINES=2000000     lines for the throughput run      FILES=100        files they are spread over
#   TAIL_FILES=1000   files for the tailing run         TAIL_RATE=10000  lines/s over all of them
#   TAIL_SECONDS=60   how long the tailing run writes   SEED=1           content seed
#   IDLE_SECONDS=5    the tailing run first measures promtail idle (files open, no writes) this long
#   TIMEOUT=600       seconds to wait for Sluice to have every line of a run
#   OUT=              results directory (default: a new directory under ${TMPDIR:-/tmp})
#   KEEP=0            1: keep the log files and Sluice's data directory
#   MAX_RSS_MB=4096   promtail or sluice is killed (and the run fails) past this RSS
#   GO=go
# Needs curl, jq and awk. Exits non-zero when a step fails (lines missing included).
set -euo pipefail

GO=${GO:-go}
LINES=${LINES:-2000000}
FILES=${FILES:-100}
TAIL_FILES=${TAIL_FILES:-1000}
TAIL_RATE=${TAIL_RATE:-10000}
TAIL_SECONDS=${TAIL_SECONDS:-60}
SEED=${SEED:-1}
IDLE_SECONDS=${IDLE_SECONDS:-5}
TIMEOUT=${TIMEOUT:-600}
KEEP=${KEEP:-0}
MAX_RSS_MB=${MAX_RSS_MB:-4096}

for tool in curl jq awk; do
	command -v "$tool" >/dev/null || { echo "bench: $tool is required" >&2; exit 1; }
done
cd "$(dirname "$0")/../.."
. scripts/bench/lib.sh
OUT=${OUT:-$(mktemp -d "${TMPDIR:-/tmp}/promtail-bench.XXXXXX")}
mkdir -p "$OUT"
WORK=$(mktemp -d "${TMPDIR:-/tmp}/promtail-bench-data.XXXXXX")
TICK=$(getconf CLK_TCK)
SPID= PPID_= WATCH= SAMPLER=

cleanup() {
	for p in "$SAMPLER" "$WATCH"; do
		if [ -n "$p" ]; then kill "$p" 2>/dev/null || true; fi
	done
	for p in "$PPID_" "$SPID"; do
		if [ -n "$p" ] && kill -0 "$p" 2>/dev/null; then kill -KILL "$p" 2>/dev/null || true; fi
	done
	if [ "$KEEP" != 1 ]; then rm -rf "$WORK"; fi
}
trap cleanup EXIT
trap 'echo "bench: failed at line $LINENO: $BASH_COMMAND" >&2' ERR

log() { echo "bench: $*" >&2; }
now() { date +%s.%N; }
cpu_ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }
vm() { awk -v k="$2:" '$1 == k {print $3 == "kB" ? $2 * 1024 : $2}' "/proc/$1/status"; } # bytes
calc() { awk "BEGIN{ $1 }"; }
MIB() { awk -v b="$1" 'BEGIN{printf "%.1f", b / 1048576}'; }
MB() { awk -v b="$1" 'BEGIN{printf "%.1f", b / 1e6}'; }
free_port() {
	if command -v python3 >/dev/null; then
		python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
		return
	fi
	local p
	while :; do
		p=$((20000 + RANDOM % 40000))
		(exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null || { echo "$p"; return; }
	done
}
# Sum of a counter over all its series in a /metrics page.
metric_sum() { curl -fsS "$1/metrics" | awk -v m="$2" '$1 == m || index($1, m "{") == 1 {s += $2} END {printf "%.0f", s}'; }
metric() { curl -fsS "$1/metrics" 2>/dev/null | awk -v m="$2" '$1 == m {v = $2} END {printf "%.0f", v}'; }
# Mean of a histogram in a saved /metrics page (sum / count over all series), in ms.
hist_mean_ms() {
	awk -v m="$2" 'index($1, m "_sum") == 1 {s += $2} index($1, m "_count") == 1 {c += $2}
		END {if (c) printf "%.1f ms over %d requests", 1000 * s / c, c; else print "n/a"}' "$1"
}
# Load average (1, 5, 15 min).
loadavg() { cut -d' ' -f1-3 /proc/loadavg; }

# ---- build
log "building into bin/ (results in $OUT)"
mkdir -p bin
CGO_ENABLED=0 "$GO" build -trimpath -o bin/ ./cmd/sluice ./promtail/cmd/promtail
CGO_ENABLED=0 "$GO" build -trimpath -o bin/promtailwriter ./scripts/bench/promtailwriter

# ---- Sluice on a free port (port 0; the address is read from its log), limits raised
bin/sluice "${BENCH_SERVER_FLAGS[@]}" -common.path-prefix="$WORK/sluice" >"$OUT/sluice.log" 2>&1 &
SPID=$!
URL=
for _ in $(seq 1 300); do
	URL=$(sed -n 's/.*sluice is ready.*addr=\([0-9.:]*\).*/http:\/\/\1/p' "$OUT/sluice.log" | head -1)
	[ -n "$URL" ] && break
	kill -0 "$SPID" 2>/dev/null || { cat "$OUT/sluice.log" >&2; log "sluice exited at start"; exit 1; }
	sleep 0.1
done
[ -n "$URL" ] || { cat "$OUT/sluice.log" >&2; log "sluice not ready after 30s"; exit 1; }
curl -fsS "$URL/ready" >/dev/null
log "sluice pid $SPID at $URL, data in $WORK/sluice"
# RSS guard over both processes.
(
	while kill -0 "$SPID" 2>/dev/null; do
		for p in $(cat "$WORK/pids" 2>/dev/null) "$SPID"; do
			rss=$(awk '$1 == "VmRSS:" {print int($2 / 1024)}' "/proc/$p/status" 2>/dev/null || echo 0)
			if [ "${rss:-0}" -gt "$MAX_RSS_MB" ]; then
				echo "bench: pid $p RSS ${rss} MiB passed MAX_RSS_MB=$MAX_RSS_MB; killing it" >&2
				kill -KILL "$p"
			fi
		done
		sleep 1
	done
) &
WATCH=$!

# start_promtail NAME PODS_DIR JOB: writes NAME.yaml, starts promtail, sets PPID_ and PURL.
start_promtail() {
	local name=$1 pods=$2 job=$3 port
	port=$(free_port)
	cat >"$OUT/$name.yaml" <<EOF
server:
  http_listen_address: 127.0.0.1
  http_listen_port: $port
  grpc_listen_port: 0
positions:
  filename: $WORK/$name-positions.yaml
clients:
  - url: $URL/loki/api/v1/push
    batchsize: 1048576
    batchwait: 1s
scrape_configs:
  - job_name: $job
    pipeline_stages:
      - cri: {}
    static_configs:
      - targets: [localhost]
        labels:
          job: $job
          __path__: $pods/*/*/*.log
EOF
	bin/promtail -config.file="$OUT/$name.yaml" >"$OUT/$name.log" 2>&1 &
	PPID_=$!
	echo "$PPID_" >"$WORK/pids"
	PURL=http://127.0.0.1:$port
	for _ in $(seq 1 100); do
		curl -fsS "$PURL/ready" >/dev/null 2>&1 && return 0
		kill -0 "$PPID_" 2>/dev/null || { cat "$OUT/$name.log" >&2; log "promtail exited at start"; exit 1; }
		sleep 0.1
	done
	log "promtail not ready after 10s"
	exit 1
}

# stop_promtail: SIGTERM, wait, sets P_EXIT and P_STOP_S.
stop_promtail() {
	local t0
	t0=$(now)
	kill -TERM "$PPID_"
	set +e
	wait "$PPID_"
	P_EXIT=$?
	set -e
	P_STOP_S=$(calc "printf \"%.2f\", $(now) - $t0")
	PPID_=
	: >"$WORK/pids"
}

# sample FILE: every 0.5 s appends "seconds rss_bytes fds goroutines" for promtail to FILE.
sample() {
	local t0
	t0=$(now)
	while kill -0 "$PPID_" 2>/dev/null; do
		local rss fds gr
		rss=$(vm "$PPID_" VmRSS 2>/dev/null || echo 0)
		fds=$(ls "/proc/$PPID_/fd" 2>/dev/null | wc -l)
		gr=$(metric "$PURL" go_goroutines || true)
		echo "$(calc "printf \"%.1f\", $(now) - $t0") ${rss:-0} $fds ${gr:-0}" >>"$1"
		sleep 0.5
	done
}

# wait_lines TARGET: polls Sluice's loki_distributor_lines_received_total until it reaches
# TARGET; fails after TIMEOUT s, or after 60 s without progress.
wait_lines() {
	local target=$1 start last=-1 since n
	start=$(date +%s)
	since=$start
	while :; do
		n=$(metric_sum "$URL" loki_distributor_lines_received_total)
		[ "$n" -ge "$target" ] && return 0
		if [ "$n" != "$last" ]; then last=$n since=$(date +%s); fi
		if [ $(($(date +%s) - since)) -ge 60 ] || [ $(($(date +%s) - start)) -ge "$TIMEOUT" ]; then
			log "sluice has $n of $target lines; giving up"
			return 1
		fi
		kill -0 "$PPID_" 2>/dev/null || { log "promtail exited"; return 1; }
		sleep 0.2
	done
}

# count QUERY: the value of an instant query at now.
count() {
	curl -fsS -G "$URL/loki/api/v1/query" --data-urlencode "query=$1" --data-urlencode "time=$(date +%s)" |
		jq -r '.data.result[0].value[1] // "0"'
}

# ---- 1. throughput: files written first, then promtail reads them all
PODS1=$WORK/pods-fill
log "writing $LINES lines into $FILES files under $PODS1"
bin/promtailwriter -mode fill -dir "$PODS1" -files "$FILES" -lines "$LINES" -seed "$SEED" >"$OUT/fill.json"
RAW1=$(jq .raw_bytes "$OUT/fill.json")
FILEB1=$(jq .file_bytes "$OUT/fill.json")
BASE=$(metric_sum "$URL" loki_distributor_lines_received_total)
LOAD1_START=$(loadavg)
S_CPU0=$(cpu_ticks "$SPID")
log "starting promtail (throughput run); load average $LOAD1_START"
T0=$(now)
start_promtail fill "$PODS1" bench-fill
sample "$OUT/fill-samples.txt" &
SAMPLER=$!
wait_lines $((BASE + LINES))
T1=$(now)
P_CPU=$(cpu_ticks "$PPID_")
S_CPU1=$(cpu_ticks "$SPID")
P_HWM1=$(vm "$PPID_" VmHWM)
LOAD1_END=$(loadavg)
kill "$SAMPLER" 2>/dev/null || true
wait "$SAMPLER" 2>/dev/null || true
SAMPLER=
GOR1=$(awk '$4 > m {m = $4} END {print m + 0}' "$OUT/fill-samples.txt")
FDS1=$(awk '$3 > m {m = $3} END {print m + 0}' "$OUT/fill-samples.txt")
curl -fsS "$PURL/metrics" >"$OUT/fill-metrics.txt"
P_BYTES_SENT1=$(metric_sum "$PURL" promtail_sent_bytes_total)
stop_promtail
FILL_EXIT=$P_EXIT FILL_STOP_S=$P_STOP_S
ELAPSED1=$(calc "printf \"%.2f\", $T1 - $T0")
FILL_CPU_S=$(calc "printf \"%.2f\", $P_CPU / $TICK")
S_CPU_1=$(calc "printf \"%.2f\", ($S_CPU1 - $S_CPU0) / $TICK")
COUNT1=$(count 'sum(count_over_time({job="bench-fill"}[3h]))')
log "throughput run: $LINES lines in $ELAPSED1 s; Sluice counts $COUNT1"

# ---- 2. tailing TAIL_FILES files while they grow
PODS2=$WORK/pods-tail
log "creating $TAIL_FILES files under $PODS2"
bin/promtailwriter -mode create -dir "$PODS2" -files "$TAIL_FILES" >/dev/null
BASE=$(metric_sum "$URL" loki_distributor_lines_received_total)
start_promtail tail "$PODS2" bench-tail
# Give it time to find and open every file.
for _ in $(seq 1 100); do
	[ "$(ls "/proc/$PPID_/fd" | wc -l)" -ge "$TAIL_FILES" ] && break
	sleep 0.1
done
sleep 1
# Idle: every file open, nothing written; what polling TAIL_FILES files costs.
P_IDLE0=$(cpu_ticks "$PPID_")
sleep "$IDLE_SECONDS"
P_IDLE1=$(cpu_ticks "$PPID_")
IDLE_RSS=$(vm "$PPID_" VmRSS)
IDLE_FDS=$(ls "/proc/$PPID_/fd" | wc -l)
IDLE_GOR=$(metric "$PURL" go_goroutines)
LOAD2_START=$(loadavg)
P_CPU0=$(cpu_ticks "$PPID_")
S_CPU0=$(cpu_ticks "$SPID")
log "promtail watching $TAIL_FILES files ($IDLE_FDS fds, $IDLE_GOR goroutines); appending $TAIL_RATE lines/s for ${TAIL_SECONDS}s; load average $LOAD2_START"
sample "$OUT/tail-samples.txt" &
SAMPLER=$!
bin/promtailwriter -mode append -dir "$PODS2" -files "$TAIL_FILES" -rate "$TAIL_RATE" \
	-duration "${TAIL_SECONDS}s" -seed "$((SEED + 1))" >"$OUT/tail.json"
T_WRITTEN=$(now)
P_CPU1=$(cpu_ticks "$PPID_")
S_CPU1=$(cpu_ticks "$SPID")
LOAD2_END=$(loadavg)
LINES2=$(jq .lines "$OUT/tail.json")
RAW2=$(jq .raw_bytes "$OUT/tail.json")
wait_lines $((BASE + LINES2))
CATCHUP2=$(calc "printf \"%.2f\", $(now) - $T_WRITTEN")
P_HWM2=$(vm "$PPID_" VmHWM)
curl -fsS "$PURL/metrics" >"$OUT/tail-metrics.txt"
kill "$SAMPLER" 2>/dev/null || true
wait "$SAMPLER" 2>/dev/null || true
SAMPLER=
stop_promtail
TAIL_EXIT=$P_EXIT TAIL_STOP_S=$P_STOP_S
COUNT2=$(count "sum(count_over_time({job=\"bench-tail\"}[$((TAIL_SECONDS + 600))s]))")
STREAMS2=$(curl -fsS -G "$URL/loki/api/v1/series" --data-urlencode 'match[]={job="bench-tail"}' \
	--data-urlencode "start=$(($(date +%s) - TAIL_SECONDS - 600))" --data-urlencode "end=$(date +%s)" | jq '.data | length')
# Samples taken while the writer ran (those in its window), second half = steady state.
W=$(jq .elapsed_seconds "$OUT/tail.json")
steady() { # column -> median over the second half of the writing window
	awk -v c="$1" -v w="$W" '$1 >= w / 2 && $1 <= w {print $c}' "$OUT/tail-samples.txt" | sort -n |
		awk '{a[NR] = $1} END {if (NR) print a[int((NR + 1) / 2)]; else print 0}'
}
colmax() { awk -v c="$1" '$c > m {m = $c} END {print m + 0}' "$OUT/tail-samples.txt"; }
STEADY_RSS=$(steady 2) STEADY_FDS=$(steady 3) STEADY_GOR=$(steady 4)
MAX_FDS=$(colmax 3) MAX_GOR=$(colmax 4)
DISCARDED=$(metric_sum "$URL" loki_discarded_samples_total)

kill -TERM "$SPID"
set +e
wait "$SPID"
S_EXIT=$?
set -e
SPID=

# ---- report
P_CPU2=$(calc "printf \"%.2f\", ($P_CPU1 - $P_CPU0) / $TICK")
S_CPU_2=$(calc "printf \"%.2f\", ($S_CPU1 - $S_CPU0) / $TICK")
WW=$(jq .elapsed_seconds "$OUT/tail.json")
pass() { if [ "$1" = "$2" ]; then echo "ok"; else echo "MISSING $(($2 - ${1:-0}))"; fi; }
{
	echo
	echo "Promtail benchmark  ($(date -u +%FT%TZ), $(nproc) cores, $(git rev-parse --short HEAD 2>/dev/null || echo '?')$( [ -n "$(git status --porcelain 2>/dev/null)" ] && echo '+dirty'))"
	echo
	echo "1. throughput: $LINES lines pre-written into $FILES CRI files, $(MB "$RAW1") MB of line content ($(MB "$FILEB1") MB on disk); promtail started cold"
	printf '  %-42s %s\n' "time until Sluice had every line" "$ELAPSED1 s (promtail start to last line received)"
	printf '  %-42s %s\n' "lines/s" "$(calc "printf \"%.0f\", $LINES / $ELAPSED1")"
	printf '  %-42s %s\n' "MB/s (raw line bytes)" "$(calc "printf \"%.2f\", $RAW1 / 1e6 / $ELAPSED1")"
	printf '  %-42s %s\n' "promtail CPU" "$FILL_CPU_S s ($(calc "printf \"%.0f\", 100 * $FILL_CPU_S / $ELAPSED1")% of a core)"
	printf '  %-42s %s\n' "promtail CPU-s per GB raw" "$(calc "printf \"%.2f\", $FILL_CPU_S / ($RAW1 / 1e9)")"
	printf '  %-42s %s\n' "promtail peak RSS (VmHWM)" "$(MIB "$P_HWM1") MiB"
	printf '  %-42s %s\n' "promtail max goroutines / fds" "$GOR1 / $FDS1"
	printf '  %-42s %s\n' "promtail bytes on the wire" "$(MB "${P_BYTES_SENT1:-0}") MB (promtail_sent_bytes_total)"
	printf '  %-42s %s\n' "promtail push latency (mean)" "$(hist_mean_ms "$OUT/fill-metrics.txt" promtail_request_duration_seconds)"
	printf '  %-42s %s\n' "sluice CPU meanwhile" "$S_CPU_1 s"
	printf '  %-42s %s\n' "lines in Sluice (count_over_time)" "$COUNT1 of $LINES: $(pass "$COUNT1" "$LINES")"
	printf '  %-42s %s\n' "promtail stop (SIGTERM)" "exit $FILL_EXIT in $FILL_STOP_S s"
	printf '  %-42s %s\n' "load average at start / end" "$LOAD1_START / $LOAD1_END"
	echo
	echo "2. tailing $TAIL_FILES files: $TAIL_RATE lines/s over all of them for ${TAIL_SECONDS}s ($LINES2 lines, $(MB "$RAW2") MB), writer busy $(jq '.busy_seconds * 100 | floor / 100' "$OUT/tail.json") s of $(jq '.elapsed_seconds * 100 | floor / 100' "$OUT/tail.json") s, max lag $(jq '.max_lag_seconds * 1000 | floor' "$OUT/tail.json") ms"
	printf '  %-42s %s\n' "promtail idle (files open, no writes)" "$(MIB "$IDLE_RSS") MiB RSS, $IDLE_FDS fds, $IDLE_GOR goroutines, CPU $(calc "printf \"%.1f\", 100 * ($P_IDLE1 - $P_IDLE0) / $TICK / $IDLE_SECONDS")% of a core"
	printf '  %-42s %s\n' "promtail steady RSS (median, 2nd half)" "$(MIB "$STEADY_RSS") MiB"
	printf '  %-42s %s\n' "promtail peak RSS (VmHWM)" "$(MIB "$P_HWM2") MiB"
	printf '  %-42s %s\n' "promtail goroutines (steady / max)" "$STEADY_GOR / $MAX_GOR"
	printf '  %-42s %s\n' "promtail open fds (steady / max)" "$STEADY_FDS / $MAX_FDS"
	printf '  %-42s %s\n' "promtail CPU while writing" "$P_CPU2 s ($(calc "printf \"%.1f\", 100 * $P_CPU2 / $WW")% of a core; $(calc "printf \"%.2f\", $P_CPU2 / ($RAW2 / 1e9)") CPU-s/GB)"
	printf '  %-42s %s\n' "promtail push latency (mean)" "$(hist_mean_ms "$OUT/tail-metrics.txt" promtail_request_duration_seconds)"
	printf '  %-42s %s\n' "sluice CPU while writing" "$S_CPU_2 s"
	printf '  %-42s %s\n' "catch-up after the writer stopped" "$CATCHUP2 s"
	printf '  %-42s %s\n' "lines in Sluice (count_over_time)" "$COUNT2 of $LINES2 in $STREAMS2 streams (file x stdout/stderr): $(pass "$COUNT2" "$LINES2")"
	printf '  %-42s %s\n' "promtail stop (SIGTERM)" "exit $TAIL_EXIT in $TAIL_STOP_S s"
	printf '  %-42s %s\n' "load average at start / end" "$LOAD2_START / $LOAD2_END"
	echo
	echo "sluice: discarded lines $DISCARDED, exit $S_EXIT"
	echo "(MB = 1e6 bytes, MiB = 2^20; raw = line content after the cri stage, what Sluice stores;"
	echo " CPU = utime+stime from /proc/<pid>/stat; RSS samples every 0.5 s in $OUT/tail-samples.txt)"
	echo "details: $OUT (sluice.log, fill.yaml/.log, tail.yaml/.log, fill.json, tail.json, *-samples.txt, *-metrics.txt)"
} | tee "$OUT/report.txt"

[ "$COUNT1" = "$LINES" ] && [ "$COUNT2" = "$LINES2" ] || { log "lines missing"; exit 1; }
[ "$FILL_EXIT" = 0 ] && [ "$TAIL_EXIT" = 0 ] || { log "promtail exited non-zero"; exit 1; }
