package s3_test

import (
	"context"
	"encoding/base64"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/sluicelog/sluice/pkg/storage/s3"
)

// TestPutHeaders checks the headers Put sends for server-side encryption and storage class.
// versitygw accepts and ignores them, so a recording HTTP server on 127.0.0.1 stands in.
func TestPutHeaders(t *testing.T) {
	var mu sync.Mutex
	var got http.Header
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodPut {
			mu.Lock()
			got = r.Header.Clone()
			mu.Unlock()
		}
		w.Header().Set("ETag", `"d41d8cd98f00b204e9800998ecf8427e"`)
	}))
	defer srv.Close()

	for _, tc := range []struct {
		name string
		edit func(*s3.Config)
		want map[string]string
	}{
		{"none", func(*s3.Config) {}, map[string]string{
			"X-Amz-Server-Side-Encryption": "", "X-Amz-Storage-Class": ""}},
		{"SSE-S3", func(c *s3.Config) { c.SSE.Type = s3.SSES3 }, map[string]string{
			"X-Amz-Server-Side-Encryption": "AES256"}},
		{"SSE-KMS", func(c *s3.Config) {
			c.SSE = s3.SSEConfig{Type: s3.SSEKMS, KMSKeyID: "alias/sluice", KMSEncryptionContext: `{"team":"logs"}`}
		}, map[string]string{
			"X-Amz-Server-Side-Encryption":                "aws:kms",
			"X-Amz-Server-Side-Encryption-Aws-Kms-Key-Id": "alias/sluice",
			"X-Amz-Server-Side-Encryption-Context":        base64.StdEncoding.EncodeToString([]byte(`{"team":"logs"}`)),
		}},
		{"storage class", func(c *s3.Config) { c.StorageClass = "STANDARD_IA" }, map[string]string{
			"X-Amz-Storage-Class": "STANDARD_IA"}},
		{"STANDARD is not sent", func(c *s3.Config) { c.StorageClass = "STANDARD" }, map[string]string{
			"X-Amz-Storage-Class": ""}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg := s3.Config{
				Endpoint:        srv.URL,
				BucketNames:     "b",
				AccessKeyID:     "ak",
				SecretAccessKey: "sk",
				Backoff:         s3.BackoffConfig{MaxRetries: 1},
			}
			tc.edit(&cfg)
			c := newClient(t, cfg)
			if err := c.Put(context.Background(), "some/key", strings.NewReader("body")); err != nil {
				t.Fatalf("Put = %v", err)
			}
			mu.Lock()
			defer mu.Unlock()
			if !strings.HasPrefix(got.Get("Authorization"), "AWS4-HMAC-SHA256 ") {
				t.Errorf("Authorization = %q, want a SigV4 signature", got.Get("Authorization"))
			}
			for h, want := range tc.want {
				if v := got.Get(h); v != want {
					t.Errorf("%s = %q, want %q", h, v, want)
				}
			}
		})
	}
}
