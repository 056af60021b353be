package flagext

import "strings"

// Strings is a list of strings: a YAML sequence, and in a flag one comma-separated value
// ("a,b"; an empty value is the empty list).
type Strings []string

// String implements flag.Value.
func (s Strings) String() string { return strings.Join(s, ",") }

// Set implements flag.Value: it replaces the list.
func (s *Strings) Set(v string) error {
	*s = nil
	for _, part := range strings.Split(v, ",") {
		if part = strings.TrimSpace(part); part != "" {
			*s = append(*s, part)
		}
	}
	return nil
}
