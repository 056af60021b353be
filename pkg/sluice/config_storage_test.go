package sluice

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func loadYAML(t *testing.T, yaml string, args ...string) (*Config, error) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "sluice.yaml")
	if err := os.WriteFile(path, []byte(yaml), 0o600); err != nil {
		t.Fatal(err)
	}
	return LoadConfig(append([]string{"-config.file=" + path}, args...))
}

func TestStorageConfig(t *testing.T) {
	for _, tc := range []struct {
		name       string
		yaml       string
		args       []string
		wantS3     bool
		wantBucket string
		wantErr    string
	}{
		{name: "default is the filesystem", yaml: "common:\n  path_prefix: /data\n"},
		{name: "common.storage.s3", yaml: "common:\n  path_prefix: /data\n  storage:\n    s3:\n      bucketnames: common-bucket\n      endpoint: minio:9000\n", wantS3: true, wantBucket: "common-bucket"},
		{name: "storage_config.aws wins", yaml: "common:\n  path_prefix: /data\n  storage:\n    s3:\n      bucketnames: common-bucket\nstorage_config:\n  aws:\n    bucketnames: aws-bucket\n", wantS3: true, wantBucket: "aws-bucket"},
		{name: "s3 URL", yaml: "storage_config:\n  aws:\n    s3: s3://k:s@minio:9000/url-bucket\n", wantS3: true},
		{name: "flag", yaml: "", args: []string{"-s3.buckets=flag-bucket"}, wantS3: true, wantBucket: "flag-bucket"},
		{name: "object_store filesystem overrides a bucket", yaml: "storage_config:\n  object_store: filesystem\n  aws:\n    bucketnames: b\n"},
		{name: "object_store aws", yaml: "storage_config:\n  object_store: aws\n  aws:\n    bucketnames: b\n", wantS3: true, wantBucket: "b"},
		{name: "unknown object_store", yaml: "storage_config:\n  object_store: gcs\n", wantErr: "object_store"},
		{name: "bad ingester name", yaml: "storage_config:\n  boltdb_shipper:\n    ingester_name: a/b\n", wantErr: "ingester_name"},
		{name: "negative cache size", yaml: "chunk_store_config:\n  chunk_cache_config:\n    embedded_cache:\n      max_size_mb: -1\n", wantErr: "max_size_mb"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg, err := loadYAML(t, tc.yaml, tc.args...)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("LoadConfig() = %v, want an error about %s", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("LoadConfig() = %v", err)
			}
			s3cfg, useS3 := cfg.objectStore()
			if useS3 != tc.wantS3 || (tc.wantBucket != "" && s3cfg.BucketNames != tc.wantBucket) {
				t.Fatalf("objectStore() = %+v, %v; want S3 %v with bucket %q", s3cfg, useS3, tc.wantS3, tc.wantBucket)
			}
			if useS3 && (s3cfg.Backoff.MaxRetries != 5 || s3cfg.Backoff.MinPeriod.D() != 100*time.Millisecond) {
				t.Errorf("S3 backoff = %+v, want the -s3.* defaults", s3cfg.Backoff)
			}
		})
	}
}

func TestStorageConfigDefaults(t *testing.T) {
	cfg, err := loadYAML(t, "common:\n  path_prefix: /data\n  storage:\n    filesystem:\n      chunks_directory: /chunks\n")
	if err != nil {
		t.Fatal(err)
	}
	b := cfg.StorageConfig.BoltDB
	if cfg.StorageConfig.Filesystem.Directory != "/chunks" || b.CacheLocation != "/data/index_cache" || b.ActiveIndexDirectory != "/data/index" {
		t.Errorf("directories = %q, %q, %q", cfg.StorageConfig.Filesystem.Directory, b.CacheLocation, b.ActiveIndexDirectory)
	}
	if b.ResyncInterval.D() != 5*time.Minute || b.CacheTTL.D() != 24*time.Hour || b.UploadInterval.D() != time.Minute {
		t.Errorf("shipper durations = %+v", b.Config)
	}
	ec := cfg.ChunkStore.ChunkCacheConfig.EmbeddedCache
	if !ec.Enabled || ec.MaxSizeMB != 256 || ec.TTL.D() != time.Hour {
		t.Errorf("chunk cache = %+v, want enabled, 256 MB, 1h", ec)
	}
}
