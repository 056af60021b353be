# Multi-stage build: a static sluice binary on a minimal, non-root image.
FROM golang:1.26 AS build
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
COPY . .
RUN CGO_ENABLED=0 go build -trimpath -ldflags '-s -w' -o /out/sluice ./cmd/sluice

FROM gcr.io/distroless/static-debian12:nonroot
COPY --from=build /out/sluice /usr/bin/sluice
# Data (chunks, index, WAL) lives under /data; mount a volume there.
WORKDIR /data
USER 65532:65532
EXPOSE 3100
ENTRYPOINT ["/usr/bin/sluice"]
CMD ["-common.path-prefix=/data"]
