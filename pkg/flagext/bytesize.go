package flagext

import (
	"fmt"
	"strconv"

	"github.com/alecthomas/units"
)

// ByteSize is a size in bytes that reads Loki's forms in flags and YAML: a plain number of
// bytes ("262144") or a number with a base-2 unit ("256KB", "3MB", "1GiB").
type ByteSize uint64

// Set implements flag.Value.
func (b *ByteSize) Set(s string) error {
	if n, err := strconv.ParseUint(s, 10, 64); err == nil {
		*b = ByteSize(n)
		return nil
	}
	n, err := units.ParseBase2Bytes(s)
	if err != nil || n < 0 {
		return fmt.Errorf("invalid size %q: want a number of bytes or a size such as 256KB", s)
	}
	*b = ByteSize(n)
	return nil
}

// String renders the size with the largest exact unit ("256KB", "3MB", "100B").
func (b ByteSize) String() string {
	if b == 0 {
		return "0B"
	}
	return units.Base2Bytes(b).String()
}

// MarshalYAML implements yaml.Marshaler.
func (b ByteSize) MarshalYAML() (any, error) { return b.String(), nil }

// UnmarshalYAML implements yaml.Unmarshaler.
func (b *ByteSize) UnmarshalYAML(unmarshal func(any) error) error {
	var s string
	if err := unmarshal(&s); err != nil {
		return err
	}
	return b.Set(s)
}

// Int returns the size as an int.
func (b ByteSize) Int() int { return int(b) }
