package flagext

// Secret is a string setting, such as a password or an access key, that is never shown:
// GET /config and -print-config render it as "********" when set.
type Secret string

// Set implements flag.Value.
func (s *Secret) Set(v string) error { *s = Secret(v); return nil }

// String hides the value, as flag's usage output would otherwise print a default.
func (s Secret) String() string {
	if s == "" {
		return ""
	}
	return "********"
}

// MarshalYAML implements yaml.Marshaler, hiding the value.
func (s Secret) MarshalYAML() (any, error) { return s.String(), nil }

// Value returns the secret itself.
func (s Secret) Value() string { return string(s) }
