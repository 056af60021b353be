# Shared by the benchmark scripts (sourced, not run).

# BENCH_SERVER_FLAGS start a Sluice that rejects nothing a benchmark sends: listening on a free
# port of 127.0.0.1 (its address is read from its log), the WAL on, old-sample, rate, stream and
# query limits raised far beyond what the workloads need.
BENCH_SERVER_FLAGS=(
	-server.http-listen-address=127.0.0.1 -server.http-listen-port=0
	-log.level=info
	-ingester.wal-enabled=true
	-validation.reject-old-samples.max-age=48h
	-distributor.ingestion-rate-limit-mb=100000 -distributor.ingestion-burst-size-mb=100000
	-ingester.per-stream-rate-limit=100GB -ingester.per-stream-rate-limit-burst=100GB
	-ingester.max-global-streams-per-user=1000000
	-validation.max-entries-limit=10000000
	-querier.max-query-series=100000
	-querier.query-timeout=10m
)
