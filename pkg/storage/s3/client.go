// Package s3 is the storage.ObjectClient for Amazon S3 and S3-compatible stores (MinIO, Ceph
// RGW, SeaweedFS, versitygw), built on aws-sdk-go-v2.
//
// New turns a Config (Loki's `storage_config.aws` block) into a Client. Small objects go up in
// one PutObject from an in-memory buffer, so the body can be signed and re-sent on retry over
// plain HTTP; objects past PartSize go up as a multipart upload, which S3 makes visible only
// when complete, so a reader never sees a partial object. Missing keys come back as
// storage.ErrNotFound, and failed requests are retried with exponential backoff.
package s3

import (
	"bytes"
	"context"
	"encoding/base64"
	"fmt"
	"hash/fnv"
	"io"
	"sort"

	"github.com/aws/aws-sdk-go-v2/aws"
	awsconfig "github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/feature/s3/manager"
	awss3 "github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"

	"github.com/sluicelog/sluice/pkg/storage"
)

// PartSize is the size of one part of a multipart upload, and the largest object Put sends in
// a single request. S3 allows 10,000 parts, so objects up to 160 GiB fit.
const PartSize = 16 << 20

// Client is a storage.ObjectClient over one or more S3 buckets. It is safe for concurrent use.
type Client struct {
	api      *awss3.Client
	uploader *manager.Uploader
	buckets  []string
	storage  types.StorageClass
	sse      SSEConfig

	listPageSize int32 // keys per List page; 0 leaves the server's default (1,000 on S3)
}

var _ storage.ObjectClient = (*Client)(nil)

// New validates cfg and builds a Client. It sends no request; call Check to test the
// connection and credentials.
func New(ctx context.Context, cfg Config) (*Client, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	r, err := cfg.resolve()
	if err != nil {
		return nil, err
	}
	httpClient, err := newHTTPClient(cfg.HTTP)
	if err != nil {
		return nil, err
	}
	opts := []func(*awsconfig.LoadOptions) error{
		awsconfig.WithHTTPClient(httpClient),
		awsconfig.WithRetryer(func() aws.Retryer { return newRetryer(cfg.Backoff) }),
		// Many S3-compatible stores (older Ceph and MinIO among them) reject the flexible
		// checksum headers the SDK sends by default; send them only when an API requires it.
		awsconfig.WithRequestChecksumCalculation(aws.RequestChecksumCalculationWhenRequired),
		awsconfig.WithResponseChecksumValidation(aws.ResponseChecksumValidationWhenRequired),
	}
	if r.region != "" {
		opts = append(opts, awsconfig.WithRegion(r.region))
	}
	if r.accessKeyID != "" {
		opts = append(opts, awsconfig.WithCredentialsProvider(
			credentials.NewStaticCredentialsProvider(r.accessKeyID, r.secretAccessKey, cfg.SessionToken.Value())))
	}
	// Without static keys LoadDefaultConfig walks the SDK's default chain: AWS_* environment
	// variables, the shared config and credentials files, web identity (IRSA), ECS and EC2
	// instance roles.
	awsCfg, err := awsconfig.LoadDefaultConfig(ctx, opts...)
	if err != nil {
		return nil, fmt.Errorf("s3: load AWS config: %w", err)
	}
	if awsCfg.Region == "" {
		// S3-compatible stores rarely care, and AWS redirects to the bucket's region.
		awsCfg.Region = "us-east-1"
	}
	api := awss3.NewFromConfig(awsCfg, func(o *awss3.Options) {
		if r.endpoint != "" {
			o.BaseEndpoint = aws.String(r.endpoint)
		}
		o.UsePathStyle = r.pathStyle
	})
	c := &Client{
		api:     api,
		buckets: r.buckets,
		sse:     cfg.SSE,
	}
	if cfg.StorageClass != "" && cfg.StorageClass != string(types.StorageClassStandard) {
		c.storage = types.StorageClass(cfg.StorageClass)
	}
	c.uploader = manager.NewUploader(api, func(u *manager.Uploader) {
		u.PartSize = PartSize
		u.Concurrency = 2
	})
	return c, nil
}

// bucket picks the bucket holding key: one fixed bucket, or a hash of the key over several.
func (c *Client) bucket(key string) *string {
	if len(c.buckets) == 1 {
		return &c.buckets[0]
	}
	h := fnv.New32a()
	_, _ = h.Write([]byte(key)) // a hash never fails to write
	return &c.buckets[h.Sum32()%uint32(len(c.buckets))]
}

// Check lists one key of every bucket, so a bad endpoint, bucket or credential shows up at
// startup rather than at the first flush. (HeadBucket would be cheaper, but its answers have no
// body, so a missing bucket and an unknown key can look alike.)
func (c *Client) Check(ctx context.Context) error {
	for i := range c.buckets {
		in := &awss3.ListObjectsV2Input{Bucket: &c.buckets[i], MaxKeys: aws.Int32(1)}
		if _, err := c.api.ListObjectsV2(ctx, in); err != nil {
			return wrapErr("check bucket", c.buckets[i], err)
		}
	}
	return nil
}

// Put stores the object. Bodies up to PartSize are read into memory and sent in one request;
// longer ones go up in parts, and S3 publishes the object only when the last part is in.
func (c *Client) Put(ctx context.Context, key string, r io.Reader) error {
	if err := checkKey(key); err != nil {
		return fmt.Errorf("put %q: %w", key, err)
	}
	// A bytes.Reader or strings.Reader is already seekable and sized: send it without a copy.
	if rs, ok := r.(sizedReadSeeker); ok && rs.Len() <= PartSize {
		in := c.putInput(key)
		in.Body = rs
		in.ContentLength = aws.Int64(int64(rs.Len()))
		if _, err := c.api.PutObject(ctx, in); err != nil {
			return wrapErr("put", key, err)
		}
		return nil
	}
	// Read one byte past PartSize to learn whether the body fits in one request.
	var buf bytes.Buffer
	n, err := buf.ReadFrom(io.LimitReader(ctxReader{ctx, r}, PartSize+1))
	if err != nil {
		return fmt.Errorf("put %s: read body: %w", key, err)
	}
	if n <= PartSize {
		in := c.putInput(key)
		in.Body = bytes.NewReader(buf.Bytes())
		in.ContentLength = aws.Int64(n)
		if _, err := c.api.PutObject(ctx, in); err != nil {
			return wrapErr("put", key, err)
		}
		return nil
	}
	in := c.putInput(key)
	in.Body = io.MultiReader(bytes.NewReader(buf.Bytes()), ctxReader{ctx, r})
	if _, err := c.uploader.Upload(ctx, in); err != nil {
		return wrapErr("put", key, err)
	}
	return nil
}

// sizedReadSeeker is a body the SDK can sign and rewind for a retry as it is.
type sizedReadSeeker interface {
	io.ReadSeeker
	Len() int // bytes left to read
}

func (c *Client) putInput(key string) *awss3.PutObjectInput {
	in := &awss3.PutObjectInput{Bucket: c.bucket(key), Key: aws.String(key), StorageClass: c.storage}
	switch c.sse.Type {
	case SSES3:
		in.ServerSideEncryption = types.ServerSideEncryptionAes256
	case SSEKMS:
		in.ServerSideEncryption = types.ServerSideEncryptionAwsKms
		in.SSEKMSKeyId = aws.String(c.sse.KMSKeyID)
		if c.sse.KMSEncryptionContext != "" {
			in.SSEKMSEncryptionContext = aws.String(base64.StdEncoding.EncodeToString([]byte(c.sse.KMSEncryptionContext)))
		}
	}
	return in
}

// Get streams the object; the caller closes the reader.
func (c *Client) Get(ctx context.Context, key string) (io.ReadCloser, error) {
	if err := checkKey(key); err != nil {
		return nil, fmt.Errorf("get %q: %w", key, err)
	}
	out, err := c.api.GetObject(ctx, &awss3.GetObjectInput{Bucket: c.bucket(key), Key: aws.String(key)})
	if err != nil {
		return nil, wrapErr("get", key, err)
	}
	return out.Body, nil
}

// GetRange returns up to n bytes from offset off; a range past the end is cut short, and one
// that starts at or after the end is empty, as with the filesystem backend.
func (c *Client) GetRange(ctx context.Context, key string, off, n int64) (io.ReadCloser, error) {
	if err := checkKey(key); err != nil {
		return nil, fmt.Errorf("get range %q: %w", key, err)
	}
	if off < 0 || n < 0 {
		return nil, fmt.Errorf("get range %s: negative offset %d or length %d", key, off, n)
	}
	// HTTP cannot ask for zero bytes: ask for one, to still report a missing object, and drop it.
	rng := fmt.Sprintf("bytes=%d-%d", off, off+max(n, 1)-1)
	out, err := c.api.GetObject(ctx, &awss3.GetObjectInput{Bucket: c.bucket(key), Key: aws.String(key), Range: &rng})
	if isRangeNotSatisfiable(err) {
		return io.NopCloser(bytes.NewReader(nil)), nil
	}
	if err != nil {
		return nil, wrapErr("get range", key, err)
	}
	if n == 0 {
		if err := out.Body.Close(); err != nil {
			return nil, fmt.Errorf("get range %s: %w", key, err)
		}
		return io.NopCloser(bytes.NewReader(nil)), nil
	}
	if out.ContentRange == nil {
		// The server ignored Range and sent the whole object: cut the range out ourselves.
		if _, err := io.CopyN(io.Discard, out.Body, off); err != nil && err != io.EOF {
			out.Body.Close()
			return nil, fmt.Errorf("get range %s: skip to offset %d: %w", key, off, err)
		}
		return readCloser{io.LimitReader(out.Body, n), out.Body}, nil
	}
	return out.Body, nil
}

type readCloser struct {
	io.Reader
	io.Closer
}

// List returns every key starting with prefix in all buckets, sorted, following S3's
// pagination (1,000 keys a page).
func (c *Client) List(ctx context.Context, prefix string) ([]string, error) {
	var keys []string
	for i := range c.buckets {
		in := &awss3.ListObjectsV2Input{Bucket: &c.buckets[i], Prefix: aws.String(prefix)}
		if c.listPageSize > 0 {
			in.MaxKeys = aws.Int32(c.listPageSize)
		}
		p := awss3.NewListObjectsV2Paginator(c.api, in)
		for p.HasMorePages() {
			page, err := p.NextPage(ctx)
			if err != nil {
				return nil, wrapErr("list", prefix, err)
			}
			for _, o := range page.Contents {
				keys = append(keys, aws.ToString(o.Key))
			}
		}
	}
	sort.Strings(keys)
	return keys, nil
}

// Delete removes the object. Deleting a missing key succeeds, as S3 itself answers.
func (c *Client) Delete(ctx context.Context, key string) error {
	if err := checkKey(key); err != nil {
		return fmt.Errorf("delete %q: %w", key, err)
	}
	_, err := c.api.DeleteObject(ctx, &awss3.DeleteObjectInput{Bucket: c.bucket(key), Key: aws.String(key)})
	if err != nil {
		err = wrapErr("delete", key, err)
		if isNotFound(err) {
			return nil // some S3-compatible stores answer 404 where S3 answers 204
		}
		return err
	}
	return nil
}

// checkKey rejects the empty key, which S3 cannot store.
func checkKey(key string) error {
	if key == "" {
		return fmt.Errorf("%w: empty", storage.ErrInvalidKey)
	}
	return nil
}

// ctxReader stops reading a request body once its context is cancelled.
type ctxReader struct {
	ctx context.Context
	r   io.Reader
}

func (c ctxReader) Read(p []byte) (int, error) {
	if err := c.ctx.Err(); err != nil {
		return 0, err
	}
	return c.r.Read(p)
}
