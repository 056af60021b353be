package sluicetest

import (
	"github.com/sluicelog/sluice/pkg/sluice"
	"github.com/sluicelog/sluice/pkg/storage/s3"
)

// WithS3 makes the server keep chunks and shipped index tables in the S3 bucket cfg names
// (set as common.storage.s3, which Start keeps), for example s3test's srv.Config(bucket).
func WithS3(cfg s3.Config) Option {
	return func(c *sluice.Config) { c.Common.Storage.S3 = cfg }
}
