#!/bin/sh
# Installs versitygw, the S3-compatible server the S3 backend's tests run against, into
# $(go env GOBIN), else $(go env GOPATH)/bin. A binary already there (or on PATH) is reused;
# set VERSITYGW_VERSION to pin another version. `make s3-server` runs this script and `make test` depends on it.
set -eu

GO=${GO:-go}
VERSION=${VERSITYGW_VERSION:-v1.8.0}
BINDIR=$($GO env GOBIN)
if [ -z "$BINDIR" ]; then
	BINDIR="$($GO env GOPATH | cut -d: -f1)/bin"
fi
BIN="$BINDIR/versitygw"

if [ -x "$BIN" ]; then
	echo "s3-server: using $BIN ($("$BIN" --version 2>/dev/null | head -n 1))"
	exit 0
fi
if command -v versitygw >/dev/null 2>&1; then
	echo "s3-server: using $(command -v versitygw)"
	exit 0
fi

echo "s3-server: installing github.com/versity/versitygw@$VERSION into $BIN (takes a few minutes)"
start=$(date +%s)
# Build outside the module so its dependencies stay out of our go.mod.
cd "${TMPDIR:-/tmp}"
GOFLAGS= GO111MODULE=on $GO install "github.com/versity/versitygw/cmd/versitygw@$VERSION"
echo "s3-server: installed $BIN in $(( $(date +%s) - start ))s"
