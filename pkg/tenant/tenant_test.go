package tenant

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

func TestMiddleware(t *testing.T) {
	var seen string
	h := Middleware(true, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		seen, _ = From(r.Context())
	}))
	check := func(header string, wantStatus int, wantTenant string) {
		t.Helper()
		seen = ""
		r := httptest.NewRequest("GET", "/", nil)
		if header != "" {
			r.Header.Set(Header, header)
		}
		w := httptest.NewRecorder()
		h.ServeHTTP(w, r)
		if w.Code != wantStatus || seen != wantTenant {
			t.Errorf("header %q: status %d tenant %q, want %d %q", header, w.Code, seen, wantStatus, wantTenant)
		}
	}
	check("", http.StatusUnauthorized, "")
	check("team-a", http.StatusOK, "team-a")
	check("bad/tenant", http.StatusBadRequest, "")
	check("..", http.StatusBadRequest, "")
	check(strings.Repeat("a", 151), http.StatusBadRequest, "")

	open := Middleware(false, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		seen, _ = From(r.Context())
	}))
	r := httptest.NewRequest("GET", "/", nil)
	r.Header.Set(Header, "ignored")
	open.ServeHTTP(httptest.NewRecorder(), r)
	if seen != Default {
		t.Errorf("auth disabled: tenant %q, want %q", seen, Default)
	}
}
