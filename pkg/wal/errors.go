package wal

import (
	"errors"
	"fmt"
)

// ErrCorrupt is wrapped by every error that reports bad bytes on disk or in a record: a wrong
// magic or version, a checksum mismatch, a frame or field cut short. A caller can tell damaged
// data (errors.Is(err, ErrCorrupt)) from a failed read or write, which it may retry.
var ErrCorrupt = errors.New("corrupt wal data")

// ErrClosed is returned by Log and Checkpoint after Close.
var ErrClosed = errors.New("wal closed")

// CorruptError reports damage found by Replay in the middle of the log: a bad frame that is not
// the torn tail of the newest segment. Replay delivered every record before Offset in File, and
// every record of the files after it; the rest of File was skipped. It wraps ErrCorrupt.
type CorruptError struct {
	// File is the damaged file's name inside the WAL directory.
	File string
	// Offset is where the first bad frame starts.
	Offset int64
	// Skipped is the number of bytes of File that were not replayed.
	Skipped int64
	// Reason says what was wrong with the frame.
	Reason string
	// More counts further damaged files found after this one.
	More int
}

func (e *CorruptError) Error() string {
	s := fmt.Sprintf("wal file %s: %s at offset %d (%d bytes skipped)", e.File, e.Reason, e.Offset, e.Skipped)
	if e.More > 0 {
		s += fmt.Sprintf(", and %d more damaged files", e.More)
	}
	return s
}

// Unwrap makes errors.Is(err, ErrCorrupt) true.
func (e *CorruptError) Unwrap() error { return ErrCorrupt }
