// Package unsafestr holds Sluice's only conversions between []byte and string that do not copy.
// Every caller must keep the rule stated on each function; a violation shows up as strings that
// change under the reader's feet.
package unsafestr

import "unsafe"

// String returns b's bytes as a string without copying. The string is valid only while b is
// neither modified nor reused: the caller must own b and must not write to it afterwards.
func String(b []byte) string {
	if len(b) == 0 {
		return ""
	}
	return unsafe.String(&b[0], len(b))
}

// Bytes returns s's bytes without copying. The result must never be written to.
func Bytes(s string) []byte {
	if s == "" {
		return nil
	}
	return unsafe.Slice(unsafe.StringData(s), len(s))
}

// SameData reports whether b and s start at the same memory, as when b came from Bytes(s) and
// was passed through unchanged.
func SameData(b []byte, s string) bool {
	if len(b) == 0 || len(s) == 0 {
		return len(b) == len(s)
	}
	return unsafe.SliceData(b) == unsafe.StringData(s)
}
