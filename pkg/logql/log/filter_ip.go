package log

import (
	"errors"
	"fmt"
	"net/netip"
	"strings"

	"github.com/sluicelog/sluice/pkg/unsafestr"
)

// Errors of ip() patterns, with Loki's wording.
var (
	ErrIPFilterInvalidPattern   = errors.New("ip: invalid pattern")
	ErrIPFilterInvalidOperation = errors.New("ip: invalid operation")
)

// ipMatcher matches addresses against ip("..."): a single address, a CIDR prefix or an
// inclusive range "from-to", IPv4 or IPv6.
type ipMatcher struct {
	from, to netip.Addr
	prefix   netip.Prefix
	isPrefix bool
}

func newIPMatcher(p string) (*ipMatcher, error) {
	p = strings.TrimSpace(p)
	if strings.Contains(p, "/") {
		pf, err := netip.ParsePrefix(p)
		if err != nil {
			return nil, fmt.Errorf("%w: %q", ErrIPFilterInvalidPattern, p)
		}
		return &ipMatcher{prefix: pf.Masked(), isPrefix: true}, nil
	}
	if from, to, ok := strings.Cut(p, "-"); ok {
		f, err1 := netip.ParseAddr(strings.TrimSpace(from))
		t, err2 := netip.ParseAddr(strings.TrimSpace(to))
		if err1 != nil || err2 != nil || f.Is4() != t.Is4() || t.Less(f) {
			return nil, fmt.Errorf("%w: %q", ErrIPFilterInvalidPattern, p)
		}
		return &ipMatcher{from: f, to: t}, nil
	}
	a, err := netip.ParseAddr(p)
	if err != nil {
		return nil, fmt.Errorf("%w: %q", ErrIPFilterInvalidPattern, p)
	}
	return &ipMatcher{from: a, to: a}, nil
}

func (m *ipMatcher) contains(a netip.Addr) bool {
	if m.isPrefix {
		return m.prefix.Contains(a)
	}
	if a.Is4In6() && m.from.Is4() {
		a = a.Unmap()
	}
	return a.BitLen() == m.from.BitLen() && m.from.Compare(a) <= 0 && a.Compare(m.to) <= 0
}

// matchString reports whether s is an address in range. Strings that cannot be addresses are
// rejected before netip sees them: its errors allocate, and most tokens of a line are not
// addresses.
func (m *ipMatcher) matchString(s string) bool {
	if a, ok := parseIPv4(s); ok {
		return m.contains(a)
	}
	if !plausibleIPv6(s) {
		return false
	}
	a, err := netip.ParseAddr(s)
	return err == nil && m.contains(a)
}

// parseIPv4 parses a dotted quad without allocating.
func parseIPv4(s string) (netip.Addr, bool) {
	var b [4]byte
	part, n, digits := 0, 0, 0
	for i := 0; i <= len(s); i++ {
		if i == len(s) || s[i] == '.' {
			if digits == 0 || part > 3 {
				return netip.Addr{}, false
			}
			b[part] = byte(n)
			part, n, digits = part+1, 0, 0
			continue
		}
		c := s[i]
		if c < '0' || c > '9' || digits == 3 {
			return netip.Addr{}, false
		}
		n = n*10 + int(c-'0')
		digits++
		if n > 255 {
			return netip.Addr{}, false
		}
	}
	if part != 4 {
		return netip.Addr{}, false
	}
	return netip.AddrFrom4(b), true
}

// plausibleIPv6 reports whether s has the shape of an IPv6 address: hex groups of at most four
// digits separated by colons, at most one "::", optionally ending in a dotted quad.
func plausibleIPv6(s string) bool {
	if len(s) < 2 || strings.Count(s, "::") > 1 || strings.Contains(s, ":::") {
		return false
	}
	groups, digits := 0, 0
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == ':':
			if digits > 0 {
				groups++
			}
			digits = 0
		case c == '.':
			// An embedded IPv4 tail: the rest from the last colon must be a dotted quad.
			k := strings.LastIndexByte(s[:i], ':')
			if k < 0 {
				return false
			}
			_, ok := parseIPv4(s[k+1:])
			return ok && groups <= 6
		case digits == 4:
			return false
		default: // isIPChar guarantees a hex digit here
			digits++
		}
	}
	if digits > 0 {
		groups++
	}
	return groups <= 8 && strings.Contains(s, ":")
}

func isIPChar(c byte) bool {
	return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F') || c == '.' || c == ':'
}

// matchLine reports whether any address-looking token of line is in range.
func (m *ipMatcher) matchLine(line []byte) bool {
	for i := 0; i < len(line); {
		if !isIPChar(line[i]) {
			i++
			continue
		}
		j := i
		dots, colons := 0, 0
		for j < len(line) && isIPChar(line[j]) {
			switch line[j] {
			case '.':
				dots++
			case ':':
				colons++
			}
			j++
		}
		if dots == 3 || colons >= 2 {
			tok := line[i:j]
			// netip copies what it keeps, so a view of the line is enough here.
			if m.matchString(unsafestr.String(tok)) {
				return true
			}
			// "host:10.0.0.1" or "10.0.0.1:8080": retry the parts around a colon.
			if dots == 3 && colons > 0 && m.matchColonParts(tok) {
				return true
			}
		}
		i = j
	}
	return false
}

func (m *ipMatcher) matchColonParts(tok []byte) bool {
	for len(tok) > 0 {
		k := 0
		for k < len(tok) && tok[k] != ':' {
			k++
		}
		part := tok[:k]
		if len(part) > 0 && m.matchString(unsafestr.String(part)) {
			return true
		}
		if k == len(tok) {
			break
		}
		tok = tok[k+1:]
	}
	return false
}

// NewIPFilter returns the line filter `|= ip("pattern")` (mt LineMatchEqual) or
// `!= ip("pattern")` (LineMatchNotEqual): lines containing an address in range pass
// (or, negated, lines containing none).
func NewIPFilter(pattern string, mt LineMatchType) (Filterer, error) {
	m, err := newIPMatcher(pattern)
	if err != nil {
		return nil, err
	}
	switch mt {
	case LineMatchEqual:
		return ipFilter{m}, nil
	case LineMatchNotEqual:
		return NewNotFilter(ipFilter{m}), nil
	}
	return nil, ErrIPFilterInvalidOperation
}

type ipFilter struct{ m *ipMatcher }

func (f ipFilter) Filter(line []byte) bool { return f.m.matchLine(line) }
func (f ipFilter) ToStage() Stage          { return filterStage{f} }
