package sluice

import (
	"context"
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/sluicelog/sluice/pkg/index"
	"github.com/sluicelog/sluice/pkg/storage"
	"github.com/sluicelog/sluice/pkg/storage/s3"
	"github.com/sluicelog/sluice/pkg/storage/shipper"
)

// initStore opens the object store (S3 or the filesystem, see objectStore), the label index and
// the chunk store on top of them. With S3, the index tables are shipped to the bucket and the
// tables other nodes shipped are read from it, so a node with an empty disk still finds
// everything flushed before.
func (s *Sluice) initStore() error {
	s3cfg, useS3 := s.cfg.objectStore()
	var objects storage.ObjectClient
	if useS3 {
		client, err := s3.New(context.Background(), s3cfg)
		if err != nil {
			return fmt.Errorf("open S3 object store: %w", err)
		}
		// A bucket that is down at start is not fatal (the WAL and ingester memory carry pushes
		// until it is back), but a wrong bucket or credentials should be seen early.
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		if err := client.Check(ctx); err != nil {
			s.logger.Error("S3 object store is not reachable; flushes will retry", "err", err)
		}
		cancel()
		objects = client
	} else {
		fs, err := storage.OpenFS(s.cfg.StorageConfig.Filesystem.Directory)
		if err != nil {
			return err
		}
		objects = fs
	}
	s.objects = objects
	if cc := s.cfg.ChunkStore.ChunkCacheConfig.EmbeddedCache; cc.Enabled && cc.MaxSizeMB > 0 {
		cache := storage.NewChunkCache(cc.MaxSizeMB<<20, cc.TTL.D(), s.reg)
		objects = storage.CachedObjects(objects, cache)
	}

	idx, err := index.Open(s.cfg.StorageConfig.BoltDB.ActiveIndexDirectory, index.Options{})
	if err != nil {
		return fmt.Errorf("open index: %w", err)
	}
	s.index = idx
	s.onStop("index", func(context.Context) error { return idx.Close() })
	s.store = storage.NewStore(objects, s.index)
	s.store.OnCorruptChunk(storage.CorruptChunkReporter(s.logger.With("component", "store"), s.reg))
	if !useS3 {
		return nil
	}
	shCfg := s.cfg.StorageConfig.BoltDB.Config
	if shCfg.IngesterName == "" && !s.modules.Has(Ingester) {
		shCfg.IngesterName = uploaderName(s.modules)
	}
	sh, err := shipper.New(shCfg, idx, s.objects, s.logger.With("component", "index-shipper"), s.reg)
	if err != nil {
		return fmt.Errorf("index shipper: %w", err)
	}
	s.store.SetIndexReader(sh.Index())
	// Stopped after the ingester's last flush (stoppers run in reverse) and before the index
	// closes, with one last upload.
	sh.Start()
	s.onStop("index shipper", sh.Stop)
	return nil
}

// objectStore returns the S3 configuration to use, and false for the filesystem:
// storage_config.object_store when set, else S3 when storage_config.aws or common.storage.s3
// names a bucket (storage_config.aws wins, as in Loki).
func (c *Config) objectStore() (s3.Config, bool) {
	aws := c.StorageConfig.AWS
	if !hasBucket(aws) && hasBucket(c.Common.Storage.S3) {
		aws = c.Common.Storage.S3
	}
	switch c.StorageConfig.ObjectStore {
	case "filesystem":
		return s3.Config{}, false
	case "s3", "aws":
		return aws, true
	}
	return aws, hasBucket(aws)
}

func hasBucket(c s3.Config) bool { return c.BucketNames != "" || c.URL != "" }

// uploaderName names the index uploads of a process without an ingester: a compactor uploads
// the index entries of the chunks it rewrites. The host name alone, the shipper's default, is
// an ingester's name, and an ingester may run on the same host: sharing its name would let one
// upload replace the other's. So the name is the host's followed by the modules.
func uploaderName(m moduleSet) string {
	host, err := os.Hostname()
	if err != nil || host == "" {
		host = "sluice"
	}
	host = strings.Map(func(r rune) rune {
		if r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-' || r == '_' || r == '.' {
			return r
		}
		return '_'
	}, host)
	if len(host) > 150 { // the shipper takes names of up to 200 bytes
		host = host[:150]
	}
	return host + "-" + strings.Join(m.Names(), "-")
}
