# Sluice — build, run and test. `make run` and `make test` are the README's quickstart.
GO        ?= go
BIN       := bin
VERSION   ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
REVISION  ?= $(shell git rev-parse --short HEAD 2>/dev/null || echo unknown)
LDFLAGS   := -s -w -X github.com/sluicelog/sluice/pkg/build.Version=$(VERSION) -X github.com/sluicelog/sluice/pkg/build.Revision=$(REVISION)
PKGS      := ./...

.PHONY: all build run test lint fmt bench fuzz clean

all: build

build:
	@mkdir -p $(BIN)
	CGO_ENABLED=0 $(GO) build -trimpath -ldflags '$(LDFLAGS)' -o $(BIN)/ $$($(GO) list ./cmd/... ./promtail/cmd/... 2>/dev/null)

run: build
	./$(BIN)/sluice

# Everything under the race detector, then once more without it the tests that count
# allocations (named *Allocs): under -race sync.Pool drops items at random, so those skip there.
ALLOC_PKGS = $$(grep -rl --include='*_test.go' 'AllocsPerRun' . | xargs -n1 dirname | sort -u)
test: s3-server helm
	$(GO) test -race -timeout 15m $(PKGS)
	$(GO) test -count=1 -run 'Allocs' $(ALLOC_PKGS)

# The S3-compatible server (versitygw) the S3 backend's tests run against; installed once into
# $(go env GOPATH)/bin and reused after.
.PHONY: s3-server
s3-server:
	GO=$(GO) sh ./scripts/s3server/install.sh

# The helm CLI the chart's tests (production/helm) run; installed once into $(go env GOPATH)/bin.
.PHONY: helm
helm:
	GO=$(GO) sh ./production/helm/install.sh

lint:
	$(GO) vet $(PKGS)
	@out=$$(gofmt -l $$(git ls-files '*.go')); if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi
	@if command -v staticcheck >/dev/null 2>&1; then staticcheck $(PKGS); fi

fmt:
	gofmt -w $$(git ls-files '*.go')

# `make bench` runs both benchmarks: the Go benchmarks of the hot paths (bench-go, short
# -benchtime so the lot takes a few minutes on 2 cores) and the storage-engine benchmark
# (bench-storage: scripts/bench/run.sh, a real server under the loadgen workload; LINES=,
# PROFILE=1 and the other settings are described at the top of the script).
BENCHTIME ?= 200ms
.PHONY: bench-go bench-storage bench-promtail
bench: bench-go bench-storage bench-promtail

bench-go:
	$(GO) test -run '^$$' -bench . -benchmem -benchtime $(BENCHTIME) $(PKGS)

bench-storage:
	GO=$(GO) bash ./scripts/bench/run.sh

# promtail shipping CRI pod logs to Sluice: throughput and memory while tailing 1,000 files
# (scripts/bench/promtail.sh; LINES=, TAIL_FILES= and the other settings at the top of the script).
bench-promtail:
	GO=$(GO) bash ./scripts/bench/promtail.sh

# Run each fuzz target briefly.
FUZZTIME ?= 10s
fuzz:
	@for pkg in $$($(GO) list $(PKGS)); do \
	  for f in $$($(GO) test -list '^Fuzz' $$pkg 2>/dev/null | grep '^Fuzz'); do \
	    echo "== $$pkg $$f"; $(GO) test -run '^$$' -fuzz "^$$f$$" -fuzztime $(FUZZTIME) $$pkg || exit 1; \
	  done; \
	done

clean:
	rm -rf $(BIN)
