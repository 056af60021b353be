// Package unsafestr converts a byte slice to a string without copying, for the index's read path,
// where label values live in bbolt's read-only memory map and are only compared, never kept.
package unsafestr

import "unsafe"

// String returns b as a string that shares b's memory. The result is valid only while b is
// neither modified nor released: for a slice returned by bbolt, until the transaction ends.
// Never store it, put it in a map that outlives the call, or return it to a caller.
func String(b []byte) string {
	if len(b) == 0 {
		return ""
	}
	return unsafe.String(unsafe.SliceData(b), len(b))
}
