package chunk

import "errors"

// ErrCorrupt is wrapped by every error that reports bad chunk bytes: a wrong magic or
// version, a checksum mismatch, a truncated section, a block that does not decompress.
// A reader can skip a corrupt chunk (errors.Is(err, ErrCorrupt)) but should retry an I/O error.
var ErrCorrupt = errors.New("corrupt chunk")

// ErrDuplicate is returned by Head.Append for an entry whose timestamp and line equal those of
// an entry still in the head block. The entry is dropped; the caller may count it but should
// not treat it as a failure (Loki accepts such pushes silently).
var ErrDuplicate = errors.New("duplicate entry")

// ErrUnsupportedEncoding is wrapped by errors for an Encoding value this package does not know
// (NewHead, compress and decompress).
var ErrUnsupportedEncoding = errors.New("encoding not supported")
