// Package tenant reads and checks the tenant of a request: Loki's X-Scope-OrgID header, or the
// single tenant "fake" when authentication is disabled.
package tenant

import (
	"context"
	"errors"
	"fmt"
	"net/http"
)

// Header carries the tenant ID, as in Loki and Cortex.
const Header = "X-Scope-OrgID"

// Default is the tenant of every request when auth is disabled, as Loki names it.
const Default = "fake"

// MaxLength is the longest tenant ID accepted.
const MaxLength = 150

// ErrNoTenant is returned when auth is enabled and a request names no tenant.
var ErrNoTenant = errors.New("no org id")

type ctxKey struct{}

// With returns ctx carrying tenant id.
func With(ctx context.Context, id string) context.Context {
	return context.WithValue(ctx, ctxKey{}, id)
}

// From returns the tenant carried by ctx.
func From(ctx context.Context) (string, error) {
	id, ok := ctx.Value(ctxKey{}).(string)
	if !ok || id == "" {
		return "", ErrNoTenant
	}
	return id, nil
}

// FromRequest returns the request's tenant: the header when authEnabled, else Default.
func FromRequest(r *http.Request, authEnabled bool) (string, error) {
	if !authEnabled {
		return Default, nil
	}
	id := r.Header.Get(Header)
	if id == "" {
		return "", ErrNoTenant
	}
	if err := Validate(id); err != nil {
		return "", err
	}
	return id, nil
}

// Validate checks id against Loki's rules: at most 150 characters from [a-zA-Z0-9!-_.*'()],
// and neither "." nor "..".
func Validate(id string) error {
	if len(id) > MaxLength {
		return fmt.Errorf("tenant ID is too long: max %d characters", MaxLength)
	}
	if id == "." || id == ".." {
		return fmt.Errorf("tenant ID is '.' or '..'")
	}
	for _, c := range id {
		switch {
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9':
		case c == '!', c == '-', c == '_', c == '.', c == '*', c == '\'', c == '(', c == ')':
		default:
			return fmt.Errorf("tenant ID %q contains unsupported character %q", id, c)
		}
	}
	return nil
}

// Middleware puts the request's tenant in its context, or answers 401 when it has none.
func Middleware(authEnabled bool, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		id, err := FromRequest(r, authEnabled)
		if err != nil {
			status := http.StatusBadRequest
			if errors.Is(err, ErrNoTenant) {
				status = http.StatusUnauthorized
			}
			http.Error(w, err.Error(), status)
			return
		}
		next.ServeHTTP(w, r.WithContext(With(r.Context(), id)))
	})
}
