package otlp

import (
	"bytes"
	"compress/gzip"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"sync"

	"github.com/klauspost/compress/zstd"
	"github.com/pierrec/lz4/v4"

	"github.com/sluicelog/sluice/pkg/logproto"
	"github.com/sluicelog/sluice/pkg/push"
)

// Content types of OTLP/HTTP bodies.
const (
	ContentTypeProto = "application/x-protobuf"
	ContentTypeJSON  = "application/json"
)

// RequestError is a request Loki's OTLP endpoint refuses before decoding its body: a content
// type or encoding it does not take. Loki answers it with 400 (not the 415 of its own push
// endpoint).
type RequestError struct{ Msg string }

func (e *RequestError) Error() string { return e.Msg }

// StatusCode is the HTTP status of the answer.
func (e *RequestError) StatusCode() int { return http.StatusBadRequest }

// Body is a decoded request whose memory comes from a pool: the lines of Request point into
// it. Release hands it back; Request must not be used after that.
type Body struct {
	Request logproto.PushRequest
	logs    Logs
	raw     bytes.Buffer
	limited io.LimitedReader
	m       mapper
}

// largest body whose buffers are kept in the pool; rarer, larger pushes allocate.
const maxPooled = 8 << 20

var bodies = sync.Pool{New: func() any { return new(Body) }}

// Decode reads an OTLP/HTTP logs request and maps it with cfg. The body may be protobuf
// (application/x-protobuf) or OTLP/JSON (application/json), compressed with gzip, zstd or lz4
// as Content-Encoding says: what Loki accepts (deflate and snappy are refused). A body larger
// than maxBytes, sent or decompressed, is refused with an error wrapping push.ErrTooLarge; a
// body that does not decode, with push.ErrMalformed; an unsupported type or encoding with a
// *RequestError. Call Release on the result once Request is no longer needed.
func Decode(r *http.Request, maxBytes int64, cfg *Config) (*Body, error) {
	b := bodies.Get().(*Body)
	if err := b.decode(r, maxBytes, cfg); err != nil {
		b.Release()
		return nil, err
	}
	return b, nil
}

// Release returns the body's memory to the pool.
func (b *Body) Release() {
	if b.raw.Cap() > maxPooled {
		return
	}
	clear(b.Request.Streams)
	b.Request.Streams = b.Request.Streams[:0]
	b.logs.Reset()
	b.raw.Reset()
	bodies.Put(b)
}

func (b *Body) decode(r *http.Request, maxBytes int64, cfg *Config) error {
	ct := r.Header.Get("Content-Type")
	mt, _, err := mime.ParseMediaType(ct)
	if err != nil || mt != ContentTypeProto && mt != ContentTypeJSON {
		return &RequestError{fmt.Sprintf("content type %q is not supported: send %s or %s", ct, ContentTypeProto, ContentTypeJSON)}
	}
	var body io.Reader = r.Body
	switch enc := r.Header.Get("Content-Encoding"); enc {
	case "":
	case "gzip":
		zr, err := gzip.NewReader(r.Body)
		if err != nil {
			return sizeOr(err, maxBytes, "gzip")
		}
		defer zr.Close()
		body = zr
	case "zstd":
		zr, err := getZstd(r.Body)
		if err != nil {
			return sizeOr(err, maxBytes, "zstd")
		}
		defer putZstd(zr)
		body = zr
	case "lz4":
		zr := lz4Readers.Get().(*lz4.Reader)
		zr.Reset(r.Body)
		defer func() {
			zr.Reset(nil)
			lz4Readers.Put(zr)
		}()
		body = zr
	default:
		return &RequestError{fmt.Sprintf("content encoding %q is not supported: only gzip, lz4 and zstd are", enc)}
	}
	if r.ContentLength > 0 && r.ContentLength <= maxBytes && body == r.Body {
		b.raw.Grow(int(r.ContentLength))
	}
	b.limited = io.LimitedReader{R: body, N: maxBytes + 1}
	n, err := b.raw.ReadFrom(&b.limited)
	b.limited.R = nil
	if err != nil {
		return sizeOr(err, maxBytes, "read body")
	}
	if n > maxBytes {
		return fmt.Errorf("%w: over %d bytes", push.ErrTooLarge, maxBytes)
	}
	if mt == ContentTypeJSON {
		err = UnmarshalJSON(b.raw.Bytes(), &b.logs)
	} else {
		err = UnmarshalProto(b.raw.Bytes(), &b.logs)
	}
	if err != nil {
		return err
	}
	return b.m.run(&b.logs, cfg, &b.Request)
}

// sizeOr returns the error of a body over the limit of http.MaxBytesReader as too large, and
// any other read error as malformed.
func sizeOr(err error, maxBytes int64, what string) error {
	var mbe *http.MaxBytesError
	if errors.As(err, &mbe) {
		return fmt.Errorf("%w: over %d bytes", push.ErrTooLarge, maxBytes)
	}
	return fmt.Errorf("%w: %s: %v", push.ErrMalformed, what, err)
}

// zstd decoders are costly to build (their block buffers), so they are pooled. Concurrency 1
// decodes on the caller's goroutine: requests already arrive in parallel.
var zstdReaders sync.Pool

func getZstd(r io.Reader) (*zstd.Decoder, error) {
	if d, ok := zstdReaders.Get().(*zstd.Decoder); ok {
		if err := d.Reset(r); err != nil {
			putZstd(d)
			return nil, err
		}
		return d, nil
	}
	return zstd.NewReader(r, zstd.WithDecoderConcurrency(1))
}

// putZstd must be called for every decoder getZstd returned, also after a failed read.
func putZstd(d *zstd.Decoder) {
	_ = d.Reset(nil)
	zstdReaders.Put(d)
}

var lz4Readers = sync.Pool{New: func() any { return lz4.NewReader(nil) }}
