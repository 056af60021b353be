#!/bin/sh
# Installs the helm CLI that production/helm's tests run (helm lint, helm template) into
# $(go env GOBIN), else $(go env GOPATH)/bin, built from source with `go install`. A binary
# already there (or on PATH) is reused; set HELM_VERSION to pin another version.
# `make helm` runs this script and `make test` depends on it.
set -eu

GO=${GO:-go}
VERSION=${HELM_VERSION:-v3.19.5}
BINDIR=$($GO env GOBIN)
if [ -z "$BINDIR" ]; then
	BINDIR="$($GO env GOPATH | cut -d: -f1)/bin"
fi
BIN="$BINDIR/helm"

if [ -x "$BIN" ]; then
	echo "helm: using $BIN ($("$BIN" version --short 2>/dev/null | head -n 1))"
	exit 0
fi
if command -v helm >/dev/null 2>&1; then
	echo "helm: using $(command -v helm)"
	exit 0
fi

echo "helm: installing helm.sh/helm/v3@$VERSION into $BIN (takes a few minutes)"
start=$(date +%s)
# Build outside the module so its dependencies stay out of our go.mod.
cd "${TMPDIR:-/tmp}"
GOFLAGS= GO111MODULE=on $GO install "helm.sh/helm/v3/cmd/helm@$VERSION"
echo "helm: installed $BIN in $(( $(date +%s) - start ))s"
