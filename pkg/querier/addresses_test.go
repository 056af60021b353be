package querier

import (
	"context"
	"errors"
	"net"
	"slices"
	"testing"
	"time"
)

// TestAddressSetResolves: dns+ addresses stand for every record of their host, looked up again
// once ResolveInterval has passed; a failed look-up is an error naming the address, and a
// name without records stands for no ingesters.
func TestAddressSetResolves(t *testing.T) {
	a, err := newAddressSet([]string{"10.0.0.9:3100", "dns+write.svc:3100"})
	if err != nil {
		t.Fatal(err)
	}
	now := time.Unix(1000, 0)
	a.now = func() time.Time { return now }
	var answer []string
	var fail error
	lookups := 0
	a.lookup = func(_ context.Context, host string) ([]string, error) {
		lookups++
		if host != "write.svc" {
			t.Fatalf("looked up %q", host)
		}
		return answer, fail
	}
	get := func() []string {
		t.Helper()
		got, err := a.get(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		return got
	}
	answer = []string{"10.1.0.1", "fd00::2"}
	if got, want := get(), []string{"10.0.0.9:3100", "10.1.0.1:3100", "[fd00::2]:3100"}; !slices.Equal(got, want) {
		t.Fatalf("addresses = %q, want %q", got, want)
	}
	answer = []string{"10.1.0.3"}
	now = now.Add(ResolveInterval - time.Second)
	if got := get(); len(got) != 3 || lookups != 1 {
		t.Fatalf("within the interval: %q after %d look-ups, want the cached records", got, lookups)
	}
	now = now.Add(time.Second)
	if got, want := get(), []string{"10.0.0.9:3100", "10.1.0.3:3100"}; !slices.Equal(got, want) {
		t.Fatalf("after the interval: %q, want %q", got, want)
	}
	now = now.Add(ResolveInterval)
	fail = &net.DNSError{Err: "server misbehaving", Name: "write.svc", IsTemporary: true}
	_, err = a.get(context.Background())
	var ie *IngesterError
	if !errors.As(err, &ie) || ie.Addr != "dns+write.svc:3100" {
		t.Fatalf("failed look-up: %v, want an IngesterError naming dns+write.svc:3100", err)
	}
	fail = &net.DNSError{Err: "no such host", Name: "write.svc", IsNotFound: true}
	if got, want := get(), []string{"10.0.0.9:3100"}; !slices.Equal(got, want) {
		t.Fatalf("name without records: %q, want %q", got, want)
	}
}

// TestAddressSetLocalhost resolves a real name.
func TestAddressSetLocalhost(t *testing.T) {
	a, err := newAddressSet([]string{"dns+localhost:3100"})
	if err != nil {
		t.Fatal(err)
	}
	got, err := a.get(context.Background())
	if err != nil || !slices.ContainsFunc(got, func(s string) bool { return s == "127.0.0.1:3100" || s == "[::1]:3100" }) {
		t.Fatalf("dns+localhost:3100 = %q, %v; want a loopback address", got, err)
	}
}
