package s3_test

import (
	"bytes"
	"context"
	"errors"
	"io"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	awss3 "github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/sluicelog/sluice/pkg/flagext"
	"github.com/sluicelog/sluice/pkg/storage"
	"github.com/sluicelog/sluice/pkg/storage/s3"
	"github.com/sluicelog/sluice/pkg/storage/s3/s3test"
	"github.com/sluicelog/sluice/pkg/storage/storagetest"
)

func newClient(t testing.TB, cfg s3.Config) *s3.Client {
	t.Helper()
	c, err := s3.New(context.Background(), cfg)
	if err != nil {
		t.Fatalf("s3.New(endpoint %q, bucket %q) = %v", cfg.Endpoint, cfg.BucketNames, err)
	}
	return c
}

// rawClient talks to the test server without our wrapper, to inspect what the client stored.
func rawClient(srv *s3test.Server) *awss3.Client {
	return awss3.New(awss3.Options{
		Region:       s3test.Region,
		BaseEndpoint: aws.String(srv.Endpoint()),
		UsePathStyle: true,
		Credentials:  credentials.NewStaticCredentialsProvider(s3test.AccessKey, s3test.SecretKey, ""),
	})
}

func testCtx(t testing.TB) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	t.Cleanup(cancel)
	return ctx
}

// read returns a function reading a Get or GetRange result to the end: read(t)(c.Get(ctx, k)).
func read(t testing.TB) func(rc io.ReadCloser, err error) []byte {
	return func(rc io.ReadCloser, err error) []byte {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
		defer rc.Close()
		b, err := io.ReadAll(rc)
		if err != nil {
			t.Fatalf("read body: %v", err)
		}
		return b
	}
}

// TestConformance runs the shared ObjectClient suite against a real, signature-checking S3
// server, one fresh bucket per case.
func TestConformance(t *testing.T) {
	t.Parallel()
	srv := s3test.Start(t)
	storagetest.Run(t, func(t *testing.T) storage.ObjectClient {
		c := newClient(t, srv.Config(srv.CreateBucket(t)))
		if err := c.Check(testCtx(t)); err != nil {
			t.Fatalf("Check() = %v", err)
		}
		return c
	})
}

// TestMultipart checks that objects past PartSize go up as multipart uploads (the ETag of a
// multipart object ends in "-<parts>") and smaller ones in a single PutObject.
func TestMultipart(t *testing.T) {
	t.Parallel()
	srv := s3test.Start(t)
	bucket := srv.CreateBucket(t)
	c := newClient(t, srv.Config(bucket))
	raw := rawClient(srv)
	ctx := testCtx(t)
	for _, tc := range []struct {
		name      string
		size      int
		multipart bool
	}{
		{"exactly PartSize", s3.PartSize, false},
		{"two parts", s3.PartSize + 7, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			key := "mp/" + strings.ReplaceAll(tc.name, " ", "_")
			data := storagetest.Payload(uint64(tc.size), tc.size)
			// A plain io.Reader (not a Seeker): Put must make the body re-readable itself.
			if err := c.Put(ctx, key, io.MultiReader(bytes.NewReader(data))); err != nil {
				t.Fatalf("Put(%d bytes) = %v", tc.size, err)
			}
			head, err := raw.HeadObject(ctx, &awss3.HeadObjectInput{Bucket: &bucket, Key: &key})
			if err != nil {
				t.Fatalf("HeadObject(%s) = %v", key, err)
			}
			if got := aws.ToInt64(head.ContentLength); got != int64(tc.size) {
				t.Fatalf("stored size = %d, want %d", got, tc.size)
			}
			if etag := aws.ToString(head.ETag); strings.Contains(etag, "-") != tc.multipart {
				t.Errorf("ETag %s: multipart = %v, want %v", etag, !tc.multipart, tc.multipart)
			}
			got := read(t)(c.Get(ctx, key))
			if !bytes.Equal(got, data) {
				t.Fatalf("Get after Put of %d bytes returned %d different bytes", tc.size, len(got))
			}
			off := int64(tc.size - 1000)
			got = read(t)(c.GetRange(ctx, key, off, 5000))
			if !bytes.Equal(got, data[off:]) {
				t.Fatalf("GetRange(%d, 5000) = %d bytes, want the last 1000", off, len(got))
			}
		})
	}
	// A failed multipart upload is aborted: no parts are left behind.
	ups, err := raw.ListMultipartUploads(ctx, &awss3.ListMultipartUploadsInput{Bucket: &bucket})
	if err != nil {
		t.Fatalf("ListMultipartUploads = %v", err)
	}
	if len(ups.Uploads) != 0 {
		t.Fatalf("%d multipart uploads left open, want 0", len(ups.Uploads))
	}
}

// TestAbortedMultipart checks that a multipart Put whose body fails aborts its upload.
func TestAbortedMultipart(t *testing.T) {
	t.Parallel()
	srv := s3test.Start(t)
	bucket := srv.CreateBucket(t)
	c := newClient(t, srv.Config(bucket))
	ctx := testCtx(t)
	errBoom := errors.New("boom")
	body := io.MultiReader(bytes.NewReader(make([]byte, s3.PartSize+5)), errorReader{errBoom})
	if err := c.Put(ctx, "mp/failed", body); !errors.Is(err, errBoom) {
		t.Fatalf("Put with a failing body = %v, want %v", err, errBoom)
	}
	ups, err := rawClient(srv).ListMultipartUploads(ctx, &awss3.ListMultipartUploadsInput{Bucket: &bucket})
	if err != nil {
		t.Fatalf("ListMultipartUploads = %v", err)
	}
	if len(ups.Uploads) != 0 {
		t.Fatalf("%d multipart uploads left open after a failed Put, want 0", len(ups.Uploads))
	}
	if _, err := c.Get(ctx, "mp/failed"); !errors.Is(err, storage.ErrNotFound) {
		t.Fatalf("Get after failed Put = %v, want ErrNotFound", err)
	}
}

type errorReader struct{ err error }

func (r errorReader) Read([]byte) (int, error) { return 0, r.err }

// TestPagination lists more keys than one page holds; the page size is cut to 10 so that a
// few dozen keys cross several page boundaries.
func TestPagination(t *testing.T) {
	t.Parallel()
	srv := s3test.Start(t)
	c := newClient(t, srv.Config(srv.CreateBucket(t)))
	c.SetListPageSize(10)
	ctx := testCtx(t)
	var want []string
	for i := range 45 {
		key := "page/" + string(rune('a'+i%3)) + "/" + itoa(i)
		want = append(want, key)
		if err := c.Put(ctx, key, strings.NewReader(key)); err != nil {
			t.Fatalf("Put(%s) = %v", key, err)
		}
	}
	if err := c.Put(ctx, "pagf", strings.NewReader("outside the prefix")); err != nil {
		t.Fatal(err)
	}
	slices.Sort(want)
	for _, tc := range []struct {
		prefix string
		want   []string
	}{
		{"page/", want},
		{"page/b/", want[15:30]},
		{"", append(slices.Clone(want), "pagf")},
	} {
		got, err := c.List(ctx, tc.prefix)
		if err != nil {
			t.Fatalf("List(%q) = %v", tc.prefix, err)
		}
		if !slices.Equal(got, tc.want) {
			t.Fatalf("List(%q) = %d keys %q, want %d keys %q", tc.prefix, len(got), got, len(tc.want), tc.want)
		}
	}
}

func itoa(i int) string { return strconv.Itoa(1000 + i) }

// TestMultipleBuckets spreads keys over two buckets, as Loki does with several bucketnames,
// and lists them back as one sorted set.
func TestMultipleBuckets(t *testing.T) {
	t.Parallel()
	srv := s3test.Start(t)
	b1, b2 := srv.CreateBucket(t), srv.CreateBucket(t)
	cfg := srv.Config(b1 + ", " + b2)
	c := newClient(t, cfg)
	ctx := testCtx(t)
	var want []string
	for i := range 40 {
		key := "multi/" + itoa(i)
		want = append(want, key)
		if err := c.Put(ctx, key, strings.NewReader(key)); err != nil {
			t.Fatalf("Put(%s) = %v", key, err)
		}
	}
	got, err := c.List(ctx, "multi/")
	if err != nil || strings.Join(got, ",") != strings.Join(want, ",") {
		t.Fatalf("List = %q, %v; want %q", got, err, want)
	}
	raw := rawClient(srv)
	for _, b := range []string{b1, b2} {
		out, err := raw.ListObjectsV2(ctx, &awss3.ListObjectsV2Input{Bucket: aws.String(b)})
		if err != nil {
			t.Fatalf("ListObjectsV2(%s) = %v", b, err)
		}
		if len(out.Contents) == 0 || len(out.Contents) == 40 {
			t.Errorf("bucket %s holds %d of 40 keys, want them spread over both", b, len(out.Contents))
		}
	}
	for _, key := range want {
		if got := read(t)(c.Get(ctx, key)); string(got) != key {
			t.Fatalf("Get(%s) = %q", key, got)
		}
	}
}

// TestWrongCredentials checks that a bad key or secret gives an error naming the problem, and
// fails fast rather than retrying.
func TestWrongCredentials(t *testing.T) {
	srv := s3test.Start(t)
	bucket := srv.CreateBucket(t)
	for _, tc := range []struct {
		name       string
		key, value string
	}{
		{"wrong secret", s3test.AccessKey, "not-the-secret"},
		{"unknown access key", "nobody", s3test.SecretKey},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg := srv.Config(bucket)
			cfg.AccessKeyID, cfg.SecretAccessKey = tc.key, flagext.Secret(tc.value)
			// With these settings a retry would take five seconds.
			cfg.Backoff = s3.BackoffConfig{MinPeriod: flagext.Duration(5 * time.Second), MaxPeriod: flagext.Duration(5 * time.Second), MaxRetries: 5}
			c := newClient(t, cfg)
			ctx := testCtx(t)
			start := time.Now()
			err := c.Put(ctx, "k", strings.NewReader("v"))
			if !errors.Is(err, s3.ErrAccessDenied) {
				t.Fatalf("Put with %s = %v, want ErrAccessDenied", tc.name, err)
			}
			if msg := err.Error(); !strings.Contains(msg, "secret_access_key") {
				t.Errorf("error %q does not point at the credentials", msg)
			}
			if d := time.Since(start); d > 4*time.Second {
				t.Errorf("Put took %s: a credential error must not be retried", d)
			}
			if err := c.Check(ctx); !errors.Is(err, s3.ErrAccessDenied) {
				t.Errorf("Check() = %v, want ErrAccessDenied", err)
			}
			if _, err := c.Get(ctx, "k"); !errors.Is(err, s3.ErrAccessDenied) || errors.Is(err, storage.ErrNotFound) {
				t.Errorf("Get() = %v, want ErrAccessDenied and not ErrNotFound", err)
			}
			if _, err := c.List(ctx, ""); !errors.Is(err, s3.ErrAccessDenied) {
				t.Errorf("List() = %v, want ErrAccessDenied", err)
			}
		})
	}
}

// TestMissingBucket checks that a bucket that does not exist is reported as such, not as a
// missing key.
func TestMissingBucket(t *testing.T) {
	t.Parallel()
	srv := s3test.Start(t)
	c := newClient(t, srv.Config("no-such-bucket"))
	ctx := testCtx(t)
	if err := c.Check(ctx); !errors.Is(err, s3.ErrNoSuchBucket) {
		t.Errorf("Check() = %v, want ErrNoSuchBucket", err)
	}
	if err := c.Put(ctx, "k", strings.NewReader("v")); !errors.Is(err, s3.ErrNoSuchBucket) {
		t.Errorf("Put() = %v, want ErrNoSuchBucket", err)
	}
	if _, err := c.Get(ctx, "k"); !errors.Is(err, s3.ErrNoSuchBucket) || errors.Is(err, storage.ErrNotFound) {
		t.Errorf("Get() = %v, want ErrNoSuchBucket and not ErrNotFound", err)
	}
	if _, err := c.List(ctx, ""); !errors.Is(err, s3.ErrNoSuchBucket) {
		t.Errorf("List() = %v, want ErrNoSuchBucket", err)
	}
}

// TestURLConfig configures the client through Loki's one-line s3 URL.
func TestURLConfig(t *testing.T) {
	t.Parallel()
	srv := s3test.Start(t)
	bucket := srv.CreateBucket(t)
	cfg := s3.Config{URL: flagext.SecretURL("http://" + s3test.AccessKey + ":" + s3test.SecretKey + "@" + srv.Addr() + "/" + bucket)}
	c := newClient(t, cfg)
	ctx := testCtx(t)
	if err := c.Put(ctx, "via/url", strings.NewReader("ok")); err != nil {
		t.Fatalf("Put through URL config = %v", err)
	}
	if got := read(t)(c.Get(ctx, "via/url")); string(got) != "ok" {
		t.Fatalf("Get = %q, want ok", got)
	}
}
