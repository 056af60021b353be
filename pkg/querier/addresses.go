package querier

import (
	"context"
	"errors"
	"fmt"
	"net"
	"strconv"
	"strings"
	"sync"
	"time"
)

// dnsPrefix marks an address whose host name stands for every A and AAAA record it has (a
// Kubernetes headless service, say).
const dnsPrefix = "dns+"

// ResolveInterval is how long a dns+ address's records are used before they are looked up
// again.
const ResolveInterval = 15 * time.Second

// ParseAddress checks an ingester address: host:port, or dns+host:port.
func ParseAddress(addr string) error {
	hostPort := strings.TrimPrefix(addr, dnsPrefix)
	host, port, err := net.SplitHostPort(hostPort)
	if err != nil {
		return fmt.Errorf("%q is not host:port or dns+host:port: %v", addr, err)
	}
	if host == "" {
		return fmt.Errorf("%q has no host", addr)
	}
	if n, err := strconv.Atoi(port); err != nil || n <= 0 || n > 65535 {
		return fmt.Errorf("%q has no valid port", addr)
	}
	return nil
}

// addressSet is the ingesters' addresses: those given as host:port as they are, those given
// as dns+host:port looked up at most every ResolveInterval, when a query needs them.
type addressSet struct {
	static []string
	dns    []string // host:port whose host is to be looked up
	lookup func(ctx context.Context, host string) ([]string, error)
	now    func() time.Time

	mu       sync.Mutex
	resolved []string // the dns addresses' records, as ip:port
	at       time.Time
}

func newAddressSet(addrs []string) (*addressSet, error) {
	a := &addressSet{lookup: net.DefaultResolver.LookupHost, now: time.Now}
	for _, addr := range addrs {
		if err := ParseAddress(addr); err != nil {
			return nil, err
		}
		if hp, ok := strings.CutPrefix(addr, dnsPrefix); ok {
			a.dns = append(a.dns, hp)
		} else {
			a.static = append(a.static, addr)
		}
	}
	return a, nil
}

// get returns every address to ask. A failed look-up fails the query: asking only some
// ingesters would answer without the lines of the others. A name without records stands for
// no ingesters (a write StatefulSet scaled to zero).
func (a *addressSet) get(ctx context.Context) ([]string, error) {
	if len(a.dns) == 0 {
		return a.static, nil
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.at.IsZero() || a.now().Sub(a.at) >= ResolveInterval {
		var resolved []string
		for _, hp := range a.dns {
			host, port, _ := net.SplitHostPort(hp)
			ips, err := a.lookup(ctx, host)
			var de *net.DNSError
			if errors.As(err, &de) && de.IsNotFound {
				continue
			}
			if err != nil {
				return nil, &IngesterError{Addr: dnsPrefix + hp, Err: fmt.Errorf("resolve: %w", err)}
			}
			for _, ip := range ips {
				resolved = append(resolved, net.JoinHostPort(ip, port))
			}
		}
		a.resolved, a.at = resolved, a.now()
	}
	out := make([]string, 0, len(a.static)+len(a.resolved))
	out = append(out, a.static...)
	return append(out, a.resolved...), nil
}
