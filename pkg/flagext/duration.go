// Package flagext holds flag and YAML value types shared by every component's Config.
package flagext

import (
	"fmt"
	"time"

	"github.com/prometheus/common/model"
)

// Duration is a time.Duration that reads and writes Loki's duration syntax in flags and YAML:
// Go's ("1h30m", "1.5s") and Prometheus's units ("1d", "1w", "1y").
type Duration time.Duration

// ParseDuration parses s in Loki's duration syntax.
func ParseDuration(s string) (time.Duration, error) {
	if d, err := model.ParseDuration(s); err == nil {
		return time.Duration(d), nil
	}
	d, err := time.ParseDuration(s)
	if err != nil {
		return 0, fmt.Errorf("invalid duration %q", s)
	}
	return d, nil
}

// String renders the duration as Prometheus does ("1d", "30m", "0s").
func (d Duration) String() string {
	if d >= 0 && time.Duration(d)%time.Millisecond == 0 {
		return model.Duration(d).String()
	}
	return time.Duration(d).String()
}

// Set implements flag.Value.
func (d *Duration) Set(s string) error {
	v, err := ParseDuration(s)
	if err != nil {
		return err
	}
	*d = Duration(v)
	return nil
}

// MarshalYAML implements yaml.Marshaler.
func (d Duration) MarshalYAML() (any, error) { return d.String(), nil }

// UnmarshalYAML implements yaml.Unmarshaler for yaml.v3's older interface.
func (d *Duration) UnmarshalYAML(unmarshal func(any) error) error {
	var s string
	if err := unmarshal(&s); err != nil {
		return err
	}
	return d.Set(s)
}

// D returns d as a time.Duration.
func (d Duration) D() time.Duration { return time.Duration(d) }
