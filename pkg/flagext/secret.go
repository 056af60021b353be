package flagext

import "net/url"

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

// SecretURL is a URL setting that may carry credentials (s3://key:secret@host/bucket): it is
// shown with its password replaced by "xxxxx", as Loki shows it.
type SecretURL string

// Set implements flag.Value.
func (u *SecretURL) Set(v string) error { *u = SecretURL(v); return nil }

// String returns the URL with its password hidden.
func (u SecretURL) String() string {
	if u == "" {
		return ""
	}
	p, err := url.Parse(string(u))
	if err != nil {
		return "********"
	}
	return p.Redacted()
}

// MarshalYAML implements yaml.Marshaler, hiding the password.
func (u SecretURL) MarshalYAML() (any, error) { return u.String(), nil }

// Value returns the URL itself.
func (u SecretURL) Value() string { return string(u) }
