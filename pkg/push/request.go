package push

import (
	"bytes"
	"compress/flate"
	"compress/gzip"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"

	"github.com/klauspost/compress/snappy"

	"github.com/sluicelog/sluice/pkg/logproto"
)

// ErrTooLarge is returned (wrapped) when a body, compressed or not, is larger than allowed.
var ErrTooLarge = errors.New("push body too large")

// ErrUnsupported is returned (wrapped) for a content type or encoding Loki does not accept.
var ErrUnsupported = errors.New("unsupported push body")

// Content types of push bodies.
const (
	ContentTypeProto = "application/x-protobuf"
	ContentTypeJSON  = "application/json"
)

// DecodeRequest reads and decodes a push request body as its Content-Type and Content-Encoding
// say. Bodies (and their decompressed forms) larger than maxBytes are refused with ErrTooLarge.
func DecodeRequest(r *http.Request, maxBytes int64) (*logproto.PushRequest, error) {
	contentType := ContentTypeProto
	if ct := r.Header.Get("Content-Type"); ct != "" {
		mt, _, err := mime.ParseMediaType(ct)
		if err != nil {
			return nil, fmt.Errorf("%w: content type %q", ErrUnsupported, ct)
		}
		contentType = mt
	}
	var body io.Reader = r.Body
	switch enc := r.Header.Get("Content-Encoding"); enc {
	case "", "identity":
	case "gzip", "x-gzip":
		zr, err := gzip.NewReader(r.Body)
		if err != nil {
			return nil, malformed("gzip: %v", err)
		}
		defer zr.Close()
		body = zr
	case "deflate":
		zr := flate.NewReader(r.Body)
		defer zr.Close()
		body = zr
	default:
		return nil, fmt.Errorf("%w: content encoding %q", ErrUnsupported, enc)
	}
	raw, err := readLimited(body, maxBytes)
	if err != nil {
		return nil, err
	}
	req := &logproto.PushRequest{}
	switch contentType {
	case ContentTypeJSON:
		err = UnmarshalJSON(raw, req)
	case ContentTypeProto, "application/octet-stream", "application/protobuf":
		err = decodeSnappyProto(raw, maxBytes, req)
	default:
		return nil, fmt.Errorf("%w: content type %q (want %s or %s)", ErrUnsupported, contentType, ContentTypeProto, ContentTypeJSON)
	}
	if err != nil {
		return nil, err
	}
	return req, nil
}

func readLimited(r io.Reader, maxBytes int64) ([]byte, error) {
	var buf bytes.Buffer
	n, err := buf.ReadFrom(io.LimitReader(r, maxBytes+1))
	if err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			return nil, fmt.Errorf("%w: over %d bytes", ErrTooLarge, maxBytes)
		}
		return nil, malformed("read body: %v", err)
	}
	if n > maxBytes {
		return nil, fmt.Errorf("%w: over %d bytes", ErrTooLarge, maxBytes)
	}
	return buf.Bytes(), nil
}

func decodeSnappyProto(b []byte, maxBytes int64, req *logproto.PushRequest) error {
	n, err := snappy.DecodedLen(b)
	if err != nil {
		return malformed("snappy: %v", err)
	}
	if int64(n) > maxBytes {
		return fmt.Errorf("%w: decompressed size %d over %d bytes", ErrTooLarge, n, maxBytes)
	}
	raw, err := snappy.Decode(make([]byte, n), b)
	if err != nil {
		return malformed("snappy: %v", err)
	}
	return UnmarshalProto(raw, req)
}

// Encode returns the body of a push request as promtail sends it: snappy-compressed protobuf,
// to be sent with Content-Type application/x-protobuf.
func Encode(req *logproto.PushRequest) []byte {
	return snappy.Encode(nil, AppendProto(nil, req))
}
