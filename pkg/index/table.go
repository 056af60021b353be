package index

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"os"
	"runtime/debug"
	"time"

	bolt "go.etcd.io/bbolt"
)

// formatVersion is the table layout FORMAT.md describes; a table with another version is refused.
const formatVersion = 1

// Bucket and key names; FORMAT.md describes them.
var (
	bucketMeta         = []byte("meta")
	bucketSeries       = []byte("series")
	bucketFingerprints = []byte("fingerprints")
	bucketPostings     = []byte("postings")
	bucketChunks       = []byte("chunks")

	metaVersion = []byte("version")
	metaTenant  = []byte("tenant")
	metaDay     = []byte("day")
)

// Table is one index table: the bbolt file of one tenant's series and chunks for one day.
// Its methods are safe for concurrent use.
type Table struct {
	db     *bolt.DB
	path   string
	tenant string
	day    int64
	// smallSelection: see defaultSmallSelection.
	smallSelection int
	// commits groups concurrent writes.
	commits commitQueue
}

// OpenTable opens the table file at path read-only, for example one downloaded from the object
// store, and checks its format version. Several processes may open the same file read-only; while
// a writer holds it, OpenTable waits up to 10 seconds and then fails. The caller must Close it.
func OpenTable(path string) (*Table, error) {
	return openTable(path, "", 0, tableOpts{readOnly: true, lockTimeout: defaultLockTimeout, smallSelection: defaultSmallSelection})
}

// tableOpts says how openTable opens a file.
type tableOpts struct {
	readOnly    bool
	create      bool
	noSync      bool
	lockTimeout time.Duration
	// smallSelection: see defaultSmallSelection.
	smallSelection int
}

// tableGrowth is how much a table file grows past the pages it needs when it must grow.
const tableGrowth = 32 << 10

// defaultLockTimeout is how long opening a table waits for another process's lock.
const defaultLockTimeout = 10 * time.Second

// openTable opens (and with create, creates) the table file at path. With a tenant, it checks that
// the table belongs to tenant and day.
func openTable(path, tenant string, day int64, o tableOpts) (*Table, error) {
	if !o.create {
		// bbolt would create a missing file even read-only; say what is wrong instead.
		if _, err := os.Stat(path); err != nil {
			return nil, fmt.Errorf("open index table %s: %w", path, err)
		}
	}
	db, err := bolt.Open(path, 0o640, &bolt.Options{
		Timeout:  o.lockTimeout,
		ReadOnly: o.readOnly,
		NoSync:   o.noSync,
	})
	if err != nil {
		if errors.Is(err, bolt.ErrInvalid) || errors.Is(err, bolt.ErrChecksum) || errors.Is(err, bolt.ErrVersionMismatch) {
			err = fmt.Errorf("%w: %w", ErrCorrupt, err)
		}
		return nil, fmt.Errorf("open index table %s: %w", path, err)
	}
	// bbolt grows a small file to its whole memory map, a power of two: a day's table of a
	// thousand chunks, 200 KiB of pages, took 256 KiB on disk. Growing by tableGrowth past what
	// it uses instead keeps the file within that of its pages, for a few more (cheap) resizes
	// of a growing table.
	db.AllocSize = tableGrowth
	t := &Table{db: db, path: path, tenant: tenant, day: day, smallSelection: o.smallSelection}
	if o.create && !o.readOnly {
		err = t.update(func(tx *bolt.Tx) error { return t.initMeta(tx) })
	} else {
		err = t.view(func(tx *bolt.Tx) error { return t.checkMeta(tx) })
	}
	if err != nil {
		return nil, errors.Join(err, db.Close())
	}
	return t, nil
}

// initMeta creates the buckets of a new table and records its version, tenant and day, or checks
// them in an existing one.
func (t *Table) initMeta(tx *bolt.Tx) error {
	if tx.Bucket(bucketMeta) != nil {
		return t.checkMeta(tx)
	}
	for _, name := range [][]byte{bucketMeta, bucketSeries, bucketFingerprints, bucketPostings, bucketChunks} {
		if _, err := tx.CreateBucketIfNotExists(name); err != nil {
			return fmt.Errorf("create bucket %s in %s: %w", name, t.path, err)
		}
	}
	meta := tx.Bucket(bucketMeta)
	err := errors.Join(
		meta.Put(metaVersion, []byte{formatVersion}),
		meta.Put(metaTenant, []byte(t.tenant)),
		meta.Put(metaDay, binary.BigEndian.AppendUint64(nil, uint64(t.day))),
	)
	if err != nil {
		return fmt.Errorf("write meta of %s: %w", t.path, err)
	}
	return nil
}

// checkMeta checks the table's version and buckets and fills in or compares its tenant and day.
func (t *Table) checkMeta(tx *bolt.Tx) error {
	meta := tx.Bucket(bucketMeta)
	if meta == nil {
		return fmt.Errorf("check index table %s: %w", t.path, corruptf("no meta bucket"))
	}
	if v := meta.Get(metaVersion); len(v) != 1 || v[0] != formatVersion {
		return fmt.Errorf("check index table %s: %w", t.path, corruptf("format version %v, want %d", v, formatVersion))
	}
	for _, name := range [][]byte{bucketSeries, bucketFingerprints, bucketPostings, bucketChunks} {
		if tx.Bucket(name) == nil {
			return fmt.Errorf("check index table %s: %w", t.path, corruptf("no %s bucket", name))
		}
	}
	tenant := meta.Get(metaTenant)
	day := meta.Get(metaDay)
	if len(day) != 8 || ValidateTenant(string(tenant)) != nil {
		return fmt.Errorf("check index table %s: %w", t.path, corruptf("bad tenant %q or day %x", tenant, day))
	}
	d := int64(binary.BigEndian.Uint64(day))
	if t.tenant == "" {
		t.tenant, t.day = string(tenant), d
		return nil
	}
	if !bytes.Equal(tenant, []byte(t.tenant)) || d != t.day {
		return fmt.Errorf("check index table %s: holds tenant %q day %d, want tenant %q day %d", t.path, tenant, d, t.tenant, t.day)
	}
	return nil
}

// Tenant returns the tenant whose series the table holds.
func (t *Table) Tenant() string { return t.tenant }

// Day returns the day the table covers (see DayOf).
func (t *Table) Day() int64 { return t.day }

// Path returns the table's file name.
func (t *Table) Path() string { return t.path }

// Close closes the table's file, after waiting for its running transactions.
func (t *Table) Close() error {
	if err := t.db.Close(); err != nil {
		return fmt.Errorf("close index table %s: %w", t.path, err)
	}
	return nil
}

// view runs fn in a read-only transaction. bbolt panics on some corrupt pages; view turns such a
// panic into an error wrapping ErrCorrupt (after ending the transaction, so Close does not hang).
func (t *Table) view(fn func(tx *bolt.Tx) error) (err error) {
	// A damaged page can also point outside the file: make the fault a panic, not a crash.
	defer debug.SetPanicOnFault(debug.SetPanicOnFault(true))
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("read index table %s: %w: %v", t.path, ErrCorrupt, r)
		}
	}()
	tx, err := t.db.Begin(false)
	if err != nil {
		return fmt.Errorf("begin reading index table %s: %w", t.path, err)
	}
	defer func() { _ = tx.Rollback() }()
	return fn(tx)
}

// update runs fn in a read-write transaction and commits it if fn returns nil. Like view, it turns
// a panic of bbolt on a corrupt page into an error.
func (t *Table) update(fn func(tx *bolt.Tx) error) (err error) {
	defer debug.SetPanicOnFault(debug.SetPanicOnFault(true))
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("write index table %s: %w: %v", t.path, ErrCorrupt, r)
		}
	}()
	tx, err := t.db.Begin(true)
	if err != nil {
		return fmt.Errorf("begin writing index table %s: %w", t.path, err)
	}
	committed := false
	defer func() {
		if !committed {
			_ = tx.Rollback()
		}
	}()
	if err := fn(tx); err != nil {
		return err
	}
	committed = true
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("commit index table %s: %w", t.path, err)
	}
	return nil
}

// buckets are the top-level buckets of a table in one transaction.
type buckets struct {
	series, fingerprints, postings, chunks *bolt.Bucket
}

func (t *Table) buckets(tx *bolt.Tx) (buckets, error) {
	b := buckets{
		series:       tx.Bucket(bucketSeries),
		fingerprints: tx.Bucket(bucketFingerprints),
		postings:     tx.Bucket(bucketPostings),
		chunks:       tx.Bucket(bucketChunks),
	}
	if b.series == nil || b.fingerprints == nil || b.postings == nil || b.chunks == nil {
		return b, fmt.Errorf("read index table %s: %w", t.path, corruptf("missing bucket"))
	}
	return b, nil
}
