# Multi-stage build of static binaries on a minimal, non-root image.
#   docker build -t sluice .                      the server (the last stage, the default)
#   docker build --target promtail -t promtail .  the node agent
FROM golang:1.26 AS build
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
COPY . .
RUN CGO_ENABLED=0 go build -trimpath -ldflags '-s -w' -o /out/ ./cmd/sluice ./cmd/logcli ./promtail/cmd/promtail \
 && mkdir -p /out/data

FROM gcr.io/distroless/static-debian12 AS promtail
COPY --from=build /out/promtail /usr/bin/promtail
# promtail reads the node's log files, which only root may read on most nodes; the DaemonSet
# mounts them read-only.
ENTRYPOINT ["/usr/bin/promtail"]
CMD ["-config.file=/etc/promtail/promtail.yaml"]

FROM gcr.io/distroless/static-debian12:nonroot AS sluice
COPY --from=build /out/sluice /out/logcli /usr/bin/
# Data (chunks, index, WAL) lives under /data; mount a volume there. The directory belongs to
# the image's non-root user, so a fresh named volume is writable.
COPY --from=build --chown=65532:65532 /out/data /data
WORKDIR /data
USER 65532:65532
EXPOSE 3100
ENTRYPOINT ["/usr/bin/sluice"]
CMD ["-common.path-prefix=/data"]
