package push

import (
	"bufio"
	"encoding/binary"
	"errors"
	"fmt"
	"io"

	"github.com/klauspost/compress/snappy"

	"github.com/sluicelog/sluice/pkg/logproto"
)

// ContentTypeFrames is the content type of a sequence of push bodies (FrameWriter).
const ContentTypeFrames = "application/vnd.sluice.push-frames"

// MaxFrameBytes bounds one frame, compressed and decompressed, on reading.
const MaxFrameBytes = 64 << 20

// A frame sequence carries the entries an ingester answers to a remote querier as several push
// bodies, so that neither side holds the whole answer: each frame is a uvarint length and that
// many bytes of snappy-compressed protobuf PushRequest (Encode's format). A zero length ends the
// sequence and is followed by a uvarint length and that many bytes of error text, empty when
// the sequence is complete. A sequence cut before its end is an error for the reader.

// FrameWriter writes a frame sequence. It is not safe for concurrent use.
type FrameWriter struct {
	w   io.Writer
	enc Encoder
	hdr []byte
}

// NewFrameWriter returns a FrameWriter writing to w.
func NewFrameWriter(w io.Writer) *FrameWriter { return &FrameWriter{w: w} }

// Write writes req as one frame; a request without streams writes nothing.
func (f *FrameWriter) Write(req *logproto.PushRequest) error {
	if len(req.Streams) == 0 {
		return nil
	}
	body := f.enc.Encode(req)
	f.hdr = binary.AppendUvarint(f.hdr[:0], uint64(len(body)))
	if _, err := f.w.Write(f.hdr); err != nil {
		return err
	}
	_, err := f.w.Write(body)
	return err
}

// End ends the sequence, with the error that cut it short (nil when it is complete).
func (f *FrameWriter) End(failure error) error {
	msg := ""
	if failure != nil {
		msg = failure.Error()
		if msg == "" {
			msg = "unknown error"
		}
	}
	b := binary.AppendUvarint(f.hdr[:0], 0)
	b = binary.AppendUvarint(b, uint64(len(msg)))
	b = append(b, msg...)
	_, err := f.w.Write(b)
	return err
}

// FrameReader reads a frame sequence.
type FrameReader struct {
	r   *bufio.Reader
	buf []byte
}

// NewFrameReader returns a FrameReader reading from r.
func NewFrameReader(r io.Reader) *FrameReader { return &FrameReader{r: bufio.NewReader(r)} }

// Next decodes the next frame into a new request, whose strings alias memory the reader never
// reuses. It returns io.EOF after a complete sequence, the writer's error after one it ended
// with an error, and io.ErrUnexpectedEOF when the sequence is cut.
func (f *FrameReader) Next() (*logproto.PushRequest, error) {
	n, err := binary.ReadUvarint(f.r)
	if err != nil {
		return nil, cut(err)
	}
	if n == 0 {
		m, err := binary.ReadUvarint(f.r)
		if err != nil {
			return nil, cut(err)
		}
		if m > 1<<16 {
			return nil, malformed("frame sequence error text of %d bytes", m)
		}
		msg := make([]byte, m)
		if _, err := io.ReadFull(f.r, msg); err != nil {
			return nil, cut(err)
		}
		if m == 0 {
			return nil, io.EOF
		}
		return nil, errors.New(string(msg))
	}
	if n > MaxFrameBytes {
		return nil, fmt.Errorf("%w: frame of %d bytes over %d", ErrTooLarge, n, MaxFrameBytes)
	}
	if uint64(cap(f.buf)) < n {
		f.buf = make([]byte, n)
	}
	src := f.buf[:n]
	if _, err := io.ReadFull(f.r, src); err != nil {
		return nil, cut(err)
	}
	size, err := snappy.DecodedLen(src)
	if err != nil {
		return nil, malformed("snappy: %v", err)
	}
	if size > MaxFrameBytes {
		return nil, fmt.Errorf("%w: decompressed frame of %d bytes over %d", ErrTooLarge, size, MaxFrameBytes)
	}
	raw, err := snappy.Decode(make([]byte, size), src)
	if err != nil {
		return nil, malformed("snappy: %v", err)
	}
	req := &logproto.PushRequest{}
	if err := UnmarshalProto(raw, req); err != nil {
		return nil, err
	}
	return req, nil
}

// cut reports a read error inside a sequence; an end of input there is unexpected.
func cut(err error) error {
	if errors.Is(err, io.EOF) {
		return io.ErrUnexpectedEOF
	}
	return err
}
