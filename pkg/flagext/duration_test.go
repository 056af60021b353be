package flagext

import (
	"strings"
	"testing"
	"time"

	"gopkg.in/yaml.v3"
)

func TestDuration(t *testing.T) {
	check := func(in string, want time.Duration) {
		t.Helper()
		var d Duration
		if err := d.Set(in); err != nil || d.D() != want {
			t.Errorf("Set(%q) = %v, %v; want %v", in, d.D(), err, want)
		}
		var y struct{ D Duration }
		if err := yaml.Unmarshal([]byte("d: "+in), &y); err != nil || y.D.D() != want {
			t.Errorf("yaml %q = %v, %v; want %v", in, y.D.D(), err, want)
		}
	}
	check("30m", 30*time.Minute)
	check("1d", 24*time.Hour)
	check("1w", 7*24*time.Hour)
	check("1h30m", 90*time.Minute)
	check("1.5s", 1500*time.Millisecond)
	check("0s", 0)
	var d Duration
	if err := d.Set("soon"); err == nil {
		t.Error("Set(soon) succeeded")
	}
	if got := Duration(2 * time.Hour).String(); got != "2h" {
		t.Errorf("String = %q", got)
	}
	out, _ := yaml.Marshal(struct{ D Duration }{Duration(168 * time.Hour)})
	if string(out) != "d: 1w\n" {
		t.Errorf("yaml = %q", out)
	}
}

func TestByteSize(t *testing.T) {
	check := func(in string, want uint64) {
		t.Helper()
		var b ByteSize
		if err := b.Set(in); err != nil || uint64(b) != want {
			t.Errorf("Set(%q) = %d, %v; want %d", in, b, err, want)
		}
		var y struct{ B ByteSize }
		if err := yaml.Unmarshal([]byte("b: "+in), &y); err != nil || uint64(y.B) != want {
			t.Errorf("yaml %q = %d, %v; want %d", in, y.B, err, want)
		}
	}
	check("262144", 262144)
	check("256KB", 256<<10)
	check("3MB", 3<<20)
	check("1GiB", 1<<30)
	var b ByteSize
	if err := b.Set("lots"); err == nil {
		t.Error("Set(lots) succeeded")
	}
	var back ByteSize
	if err := back.Set(ByteSize(15 << 20).String()); err != nil || back != 15<<20 {
		t.Errorf("String does not round-trip: %v %v", back, err)
	}
}

func TestSecretHidden(t *testing.T) {
	var c struct {
		Key Secret `yaml:"key"`
	}
	if err := yaml.Unmarshal([]byte("key: hunter2"), &c); err != nil || c.Key.Value() != "hunter2" {
		t.Fatalf("unmarshal = %q, %v", c.Key.Value(), err)
	}
	out, _ := yaml.Marshal(c)
	if string(out) != "key: '********'\n" {
		t.Fatalf("marshal = %q, want the value hidden", out)
	}
}

func TestSecretURLHidden(t *testing.T) {
	u := SecretURL("s3://AKIA:hunter2@eu-west-1/bucket")
	out, _ := yaml.Marshal(struct {
		S3 SecretURL `yaml:"s3"`
	}{u})
	if strings.Contains(string(out), "hunter2") || !strings.Contains(string(out), "AKIA") {
		t.Fatalf("marshal = %q, want the password hidden and the rest kept", out)
	}
	if u.Value() != "s3://AKIA:hunter2@eu-west-1/bucket" {
		t.Fatalf("Value = %q", u.Value())
	}
}

func TestStrings(t *testing.T) {
	var s Strings
	if err := s.Set(" a:1, dns+b:2 ,,"); err != nil {
		t.Fatal(err)
	}
	if len(s) != 2 || s[0] != "a:1" || s[1] != "dns+b:2" || s.String() != "a:1,dns+b:2" {
		t.Fatalf("Set = %q", s)
	}
	if err := s.Set(""); err != nil || len(s) != 0 {
		t.Fatalf("Set(\"\") = %q, %v; want empty", s, err)
	}
}
