package wal

import (
	"bufio"
	"encoding/binary"
	"fmt"
	"io"
)

// scanReadSize is the read buffer of a scanner. Records larger than it are read straight into
// the record buffer, so it only saves system calls for small records.
const scanReadSize = 256 << 10

// scanner reads the frames of one WAL file in order, one at a time. Memory is bounded by the
// largest record in the file: the record buffer is reused and a frame's length is checked
// against the bytes left in the file before anything is allocated for it.
//
// next stops at the first frame that is incomplete or fails its checksum; bad then says why and
// badOff where that frame starts, so the caller can truncate there or report it.
type scanner struct {
	r    *bufio.Reader
	size int64 // file size, taken when the file was opened
	off  int64 // offset of the next frame

	rec []byte // the current record; valid until the next call to next
	buf []byte
	hdr [frameHeaderSize]byte // a field, not a local: passed to io.ReadFull, a local escapes

	err    error  // I/O error: the file could not be read, which says nothing about its bytes
	bad    string // why the frame at badOff is unusable; empty when the file ended cleanly
	badOff int64
}

func newScanner(r io.Reader, size int64, magic [4]byte, buf []byte) *scanner {
	s := &scanner{r: bufio.NewReaderSize(r, scanReadSize), size: size, buf: buf}
	if size < fileHeaderSize {
		s.setBad(0, fmt.Sprintf("file of %d bytes is shorter than its header", size))
		return s
	}
	var h [fileHeaderSize]byte
	if _, err := io.ReadFull(s.r, h[:]); err != nil {
		s.err = fmt.Errorf("read file header: %w", err)
		return s
	}
	if h != fileHeader(magic) {
		s.setBad(0, fmt.Sprintf("bad file header %x", h))
		return s
	}
	s.off = fileHeaderSize
	return s
}

func (s *scanner) setBad(off int64, why string) {
	s.bad, s.badOff = why, off
}

// next reads the next frame into s.rec and reports whether there was one.
func (s *scanner) next() bool {
	if s.err != nil || s.bad != "" || s.off >= s.size {
		return false
	}
	left := s.size - s.off
	if left < frameHeaderSize {
		s.setBad(s.off, fmt.Sprintf("partial frame header of %d bytes", left))
		return false
	}
	h := s.hdr[:]
	if _, err := io.ReadFull(s.r, h); err != nil {
		s.err = fmt.Errorf("read frame header at offset %d: %w", s.off, err)
		return false
	}
	n := int64(binary.LittleEndian.Uint32(h[:4]))
	if n > left-frameHeaderSize {
		s.setBad(s.off, fmt.Sprintf("frame of %d bytes runs past the end of the file (%d bytes left)", n, left-frameHeaderSize))
		return false
	}
	if int64(cap(s.buf)) < n {
		s.buf = make([]byte, n)
	}
	rec := s.buf[:n]
	if _, err := io.ReadFull(s.r, rec); err != nil {
		s.err = fmt.Errorf("read frame at offset %d: %w", s.off, err)
		return false
	}
	if got, want := frameCRC(h[:4], rec), binary.LittleEndian.Uint32(h[4:]); got != want {
		s.setBad(s.off, fmt.Sprintf("checksum mismatch (stored %08x, computed %08x)", want, got))
		return false
	}
	s.rec = rec
	s.off += frameHeaderSize + n
	return true
}
