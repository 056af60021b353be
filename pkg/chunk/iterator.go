package chunk

import (
	"bytes"
	"errors"
	"fmt"
	"slices"
	"sync"

	"github.com/prometheus/prometheus/model/labels"

	"github.com/sluicelog/sluice/pkg/iter"
	"github.com/sluicelog/sluice/pkg/logproto"
	"github.com/sluicelog/sluice/pkg/unsafestr"
)

// LineFilter reports whether an entry with this line should be returned. Iterators call it
// on the line inside the decompressed block (or, when the block elided its stamp, in a buffer
// the line is rebuilt in), before the entry is built, so rejected entries cost no more than
// the filter itself. The line is valid only during the call.
type LineFilter func(line []byte) bool

// Iterator returns the entries of a chunk or head with from <= timestamp < through (Unix ns)
// in strict time order, forward or backward. Blocks outside the range are never
// decompressed; blocks that do not overlap in time are decoded one at a time, and blocks that
// do (out-of-order appends) are merged. Among equal timestamps, forward returns entries in
// the order they were appended to the head block, and backward exactly reverses forward.
//
// At's Line and StructuredMetadata point into buffers the iterator owns; they are valid until
// the next call to Next. Close hands the buffers back for reuse. An Iterator is not safe for
// concurrent use.
type Iterator struct {
	enc           Encoding
	version       int
	syms          []string
	lbls          labels.Labels
	hash          uint64
	from, through int64
	backward      bool
	filter        LineFilter
	needle        []byte // see Prefilter
	// stampSafe: a search of a stamped block's lines as stored finds needle in every line
	// whose stamp rendered back holds it (stampSafeNeedle); hexSafe, the same for a block
	// with hex runs (hexSafeNeedle).
	stampSafe, hexSafe bool
	// hexNeedle: needle is an ID of hex digits (hexNeedle), looked for in a block's packed
	// runs and lines before its lines are rebuilt.
	hexNeedle bool
	// matchNeedle and matchHex tell decompressBlockFor whether a block's lines (and packed
	// runs) may hold the needle.
	matchNeedle, matchHex func(lines, kept []byte) bool
	// noLines: the caller reads no line (WithoutLines).
	noLines bool

	pending []blockSource // blocks not yet opened, in the order they can first contribute
	active  []*cursor     // opened blocks with a current entry
	cur     *cursor       // the block holding the entry At returns
	entry   logproto.Entry
	err     error
	closed  bool

	mdCache map[string]labels.Labels // metadata reference bytes → labels
	sb      labels.ScratchBuilder

	// decoded counts the blocks opened, for query statistics.
	decoded DecodeStats
}

// DecodeStats is what an iterator decoded: blocks opened, the entries they hold and their raw
// (decompressed) size, whether or not a filter or the time range kept the entries.
type DecodeStats struct {
	Blocks, Entries, Bytes int64
}

// Decoded returns what the iterator has decoded so far.
func (it *Iterator) Decoded() DecodeStats { return it.decoded }

var _ iter.EntryIterator = (*Iterator)(nil)

// blockSource is a block an iterator may read: compressed bytes, or for a snapshot of a
// head block, raw bytes.
type blockSource struct {
	meta  BlockMeta
	data  []byte
	raw   []byte
	index int // the block's position in the chunk, for errors and to order equal timestamps
}

// cursor is one opened block. Cursors and their buffers are pooled across iterators.
type cursor struct {
	index int
	dec   blockDecoder
	buf   []byte      // decompression buffer owned by the cursor
	views []entryView // backward: the block's entries in range, walked from the end
	vi    int
	cur   entryView
	// With a prefilter: the position in the block of the next occurrence of the needle at
	// or after the last line searched, and whether there is none left.
	hit    int
	noMore bool
	// skip: the block holds no line with the prefilter's needle; it was not decoded beyond
	// its lines and has no entry to give.
	skip bool
	// expandSearch: the block elided stamps and the needle is not safe to look for in the
	// lines as stored, so each line is rebuilt before it is searched.
	expandSearch bool
	// exp holds the line of the entry whose lineStart is expAt-1 rebuilt with its stamp and
	// hex runs.
	exp    []byte
	expAt  int32
	render stampRenderer
}

var cursors = sync.Pool{New: func() any { return &cursor{hit: -1} }}

func (c *cursor) release() {
	runs := c.dec.runs[:0]
	if cap(runs) > 64<<10 {
		runs = nil
	}
	c.dec = blockDecoder{runs: runs} // the runs' table is reused
	c.hit, c.noMore, c.skip, c.expandSearch, c.expAt = -1, false, false, false, 0
	c.render.num = 0
	c.views = c.views[:0]
	if cap(c.buf) > 4*DefaultBlockSize {
		c.buf = nil // do not let one huge block pin memory in the pool
	}
	if cap(c.exp) > 64<<10 {
		c.exp = nil
	}
	if cap(c.views) > 64<<10 {
		c.views = nil
	}
	cursors.Put(c)
}

// mdCacheSize bounds the metadata cache; entries with unique metadata (a trace ID per line)
// would otherwise grow it for the whole scan.
const mdCacheSize = 1024

func newIterator(enc Encoding, version int, syms []string, srcs []blockSource, lbls labels.Labels,
	from, through int64, dir logproto.Direction, filter LineFilter) *Iterator {
	it := &Iterator{
		enc:      enc,
		version:  version,
		syms:     syms,
		lbls:     lbls,
		hash:     lbls.Hash(),
		from:     from,
		through:  through,
		backward: dir == logproto.Backward,
		filter:   filter,
	}
	kept := srcs[:0]
	for _, s := range srcs {
		if s.meta.MaxT >= from && s.meta.MinT < through {
			kept = append(kept, s)
		}
	}
	if it.backward {
		slices.SortFunc(kept, func(a, b blockSource) int {
			if a.meta.MaxT != b.meta.MaxT {
				return cmpInt64(b.meta.MaxT, a.meta.MaxT)
			}
			return b.index - a.index
		})
	} else {
		slices.SortFunc(kept, func(a, b blockSource) int {
			if a.meta.MinT != b.meta.MinT {
				return cmpInt64(a.meta.MinT, b.meta.MinT)
			}
			return a.index - b.index
		})
	}
	it.pending = kept
	return it
}

func cmpInt64(a, b int64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// Next moves to the next entry and reports whether there is one.
func (it *Iterator) Next() bool {
	if it.err != nil || it.closed {
		return false
	}
	if c := it.cur; c != nil {
		it.cur = nil
		if !it.advance(c) {
			it.drop(c)
			if it.err != nil {
				return false
			}
		}
	}
	for {
		best := it.best()
		// A pending block may hold an entry that comes before the best one: open it first.
		if len(it.pending) > 0 && (best == nil || it.mayPrecede(&it.pending[0], best)) {
			s := it.pending[0]
			it.pending = it.pending[1:]
			c := it.open(s)
			if c == nil {
				return false
			}
			if it.advance(c) {
				it.active = append(it.active, c)
			} else {
				c.release()
				if it.err != nil {
					return false
				}
			}
			continue
		}
		if best == nil {
			return false
		}
		it.cur = best
		return it.setEntry(best)
	}
}

func (it *Iterator) mayPrecede(s *blockSource, best *cursor) bool {
	if it.backward {
		return s.meta.MaxT >= best.cur.ts
	}
	return s.meta.MinT <= best.cur.ts
}

// best returns the active cursor whose current entry comes next.
func (it *Iterator) best() *cursor {
	var best *cursor
	for _, c := range it.active {
		switch {
		case best == nil:
			best = c
		case it.backward:
			if c.cur.ts > best.cur.ts || (c.cur.ts == best.cur.ts && c.index > best.index) {
				best = c
			}
		default:
			if c.cur.ts < best.cur.ts || (c.cur.ts == best.cur.ts && c.index < best.index) {
				best = c
			}
		}
	}
	return best
}

// drop removes an exhausted cursor from the active set and releases it.
func (it *Iterator) drop(c *cursor) {
	for i, a := range it.active {
		if a == c {
			it.active = slices.Delete(it.active, i, i+1)
			break
		}
	}
	c.release()
}

// open checks and decompresses a block. It returns nil after recording an error.
func (it *Iterator) open(s blockSource) *cursor {
	c := cursors.Get().(*cursor)
	c.index = s.index
	raw := s.raw
	headOnly := raw == nil && it.withoutLines() && it.version >= 2
	if raw == nil {
		if checksum(s.data) != s.meta.CRC {
			it.fail(c, fmt.Errorf("checksum mismatch"))
			c.release()
			return nil
		}
		var out []byte
		var err error
		found := true
		if headOnly {
			out, err = decompressBlockHead(it.enc, c.buf, s.data, s.meta.RawSize, it.version)
		} else if it.version == 1 {
			out, err = decompress(it.enc, c.buf, s.data, s.meta.RawSize)
		} else {
			// With a needle, the lines are decoded and searched first, and a block without
			// the needle goes no further. A needle that may overlap a stamp or a hex run
			// cannot be looked for before the block's flags are read, unless it is an ID of
			// hex digits (mayHoldHexNeedle, which looks at the packed runs too).
			var match func(lines, kept []byte) bool
			switch {
			case it.needle == nil:
			case it.hexNeedle:
				match = it.matchHex
			case (it.version < 4 || it.stampSafe) && (it.version < 5 || it.hexSafe):
				match = it.matchNeedle
			}
			out, found, err = decompressBlockFor(it.enc, c.buf, s.data, s.meta.RawSize, it.version, match)
		}
		if err != nil {
			it.fail(c, err)
			c.release()
			return nil
		}
		if it.enc != EncNone {
			c.buf = out
		}
		raw = out
		c.skip = !found
	}
	it.decoded.Blocks++
	it.decoded.Entries += int64(s.meta.Entries)
	if headOnly {
		it.decoded.Bytes += int64(len(raw))
	} else {
		it.decoded.Bytes += int64(s.meta.RawSize)
	}
	if c.skip {
		return c
	}
	var err error
	if headOnly {
		err = c.dec.resetHead(raw, s.meta, it.version)
	} else {
		err = c.dec.reset(raw, s.meta, it.version)
	}
	if err != nil {
		it.fail(c, err)
		c.release()
		return nil
	}
	c.expandSearch = it.needle != nil && ((c.dec.esc >= 0 && !it.stampSafe) || (c.dec.hexMark >= 0 && !it.hexSafe))
	if it.needle != nil && s.raw != nil && it.version != 1 && !c.expandSearch && !bytes.Contains(raw[c.dec.line:], it.needle) {
		c.skip = true // a head block's snapshot: its lines are at hand
		return c
	}
	if it.backward {
		// Entries are delta-coded forward, so walking a block backward starts by locating
		// its entries in range.
		c.views = c.views[:0]
		for {
			done, err := c.dec.done()
			if err != nil {
				it.fail(c, err)
				c.release()
				return nil
			}
			if done {
				break
			}
			v, err := c.dec.next()
			if err != nil {
				it.fail(c, err)
				c.release()
				return nil
			}
			if v.ts >= it.through {
				break
			}
			if v.ts >= it.from && it.mayContain(c, v) {
				c.views = append(c.views, v)
			}
			if it.err != nil { // a stamp that could not be rebuilt
				c.release()
				return nil
			}
		}
		c.vi = len(c.views)
	}
	return c
}

// advance moves c to its next entry in range that passes the filter, and reports whether
// there is one. It records an error in it.err.
func (it *Iterator) advance(c *cursor) bool {
	if c.skip {
		return false
	}
	if it.backward {
		for c.vi > 0 {
			c.vi--
			if keep, ok := it.keep(c, c.views[c.vi]); keep || !ok {
				return keep
			}
		}
		return false
	}
	for {
		done, err := c.dec.done()
		if err != nil {
			it.fail(c, err)
			return false
		}
		if done {
			return false
		}
		v, err := c.dec.next()
		if err != nil {
			it.fail(c, err)
			return false
		}
		if v.ts < it.from {
			continue
		}
		if v.ts >= it.through {
			return false
		}
		if !it.mayContain(c, v) {
			if c.noMore || it.err != nil {
				return false // no line left in this block holds the needle
			}
			continue
		}
		if keep, ok := it.keep(c, v); keep || !ok {
			return keep
		}
	}
}

// keep makes v c's current entry if the filter accepts its line, and reports whether it did;
// ok is false when the line could not be rebuilt (it.err says why).
func (it *Iterator) keep(c *cursor, v entryView) (keep, ok bool) {
	if it.filter != nil {
		line, ok := it.line(c, &v)
		if !ok || !it.filter(line) {
			return false, ok
		}
	}
	c.cur = v
	return true, true
}

// line returns v's line, rebuilt in c.exp when the block elided its stamp or hex runs. It
// records an error in it.err and returns false when the line cannot be rebuilt.
func (it *Iterator) line(c *cursor, v *entryView) ([]byte, bool) {
	raw := c.dec.raw[v.lineStart:v.lineEnd]
	if v.stamp == 0 && v.hexN == 0 {
		return raw, true
	}
	if c.expAt == v.lineStart+1 {
		return c.exp, true
	}
	var err error
	exp := c.exp[:0]
	if v.hexN > 0 {
		exp, err = c.rebuild(exp, raw, v)
	} else {
		exp, err = expandStamp(exp, raw, byte(c.dec.esc), int(v.stamp), v.stampD, v.ts, &c.render)
	}
	if err != nil {
		it.fail(c, err)
		return nil, false
	}
	c.exp, c.expAt = exp, v.lineStart+1
	return exp, true
}

// rebuild appends v's line, raw as stored, with its hex runs and stamp (if it has one) put back
// in one pass. The line must hold exactly v.hexN hex marks and, stamped, a stamp mark.
func (c *cursor) rebuild(dst, raw []byte, v *entryView) ([]byte, error) {
	stampAt := -1
	if v.stamp > 0 {
		if stampAt = bytes.IndexByte(raw, byte(c.dec.esc)); stampAt < 0 {
			return dst, errors.New("stamped line holds no stamp mark")
		}
	}
	pos := 0
	// stampBefore appends the stored text up to the stamp mark and the stamp, when the mark
	// lies between pos and end.
	stampBefore := func(end int) (err error) {
		if stampAt >= pos && stampAt < end {
			dst = append(dst, raw[pos:stampAt]...)
			dst, err = appendStampAt(dst, int(v.stamp), v.stampD, v.ts, &c.render)
			pos = stampAt + 1
		}
		return err
	}
	mark := byte(c.dec.hexMark)
	for _, r := range c.dec.runs[v.hexFirst : v.hexFirst+v.hexN] {
		at := bytes.IndexByte(raw[pos:], mark)
		if at < 0 {
			return dst, fmt.Errorf("line holds fewer hex marks than its %d runs", v.hexN)
		}
		at += pos
		if err := stampBefore(at); err != nil {
			return dst, err
		}
		dst = append(dst, raw[pos:at]...)
		dst = appendUnpacked(dst, c.dec.raw[r.off:], int(r.n))
		pos = at + 1
	}
	if bytes.IndexByte(raw[pos:], mark) >= 0 {
		return dst, fmt.Errorf("line holds more hex marks than its %d runs", v.hexN)
	}
	if err := stampBefore(len(raw)); err != nil {
		return dst, err
	}
	return append(dst, raw[pos:]...), nil
}

// Prefilter declares that every line the iterator's filter accepts contains needle, as the
// engine knows for a `|= "needle"` line filter. The iterator then searches each decompressed
// block for needle in one bytes.Index pass and calls the filter only on lines holding a
// match; lines without needle are skipped even when the filter is nil. An empty needle
// changes nothing. Call Prefilter before the first Next; it returns it.
func (it *Iterator) Prefilter(needle []byte) *Iterator {
	if len(needle) > 0 {
		it.needle = needle
		it.stampSafe, it.hexSafe = stampSafeNeedle(needle), hexSafeNeedle(needle)
		it.hexNeedle = hexNeedle(needle)
		it.matchNeedle = func(lines, _ []byte) bool { return bytes.Contains(lines, needle) }
		it.matchHex = func(lines, kept []byte) bool { return mayHoldHexNeedle(lines, kept, needle) }
	}
	return it
}

// WithoutLines declares that the caller reads no entry's Line: it counts entries, or looks at
// their timestamps and structured metadata only. The iterator then returns every entry with an
// empty Line, and of each stored block it decompresses only the part before the lines (format
// version 2 and later; version 1 interleaves them with the rest), a small share of the block.
// Decoded reports the bytes actually decompressed. A line filter or a prefilter reads lines:
// with either, WithoutLines changes nothing. Call it before the first Next; it returns it.
func (it *Iterator) WithoutLines() *Iterator {
	it.noLines = true
	return it
}

// withoutLines reports whether entries are returned without their lines.
func (it *Iterator) withoutLines() bool { return it.noLines && it.filter == nil && it.needle == nil }

// mayContain reports whether v's line contains the prefilter's needle (true without one).
// Entries must be presented in block order. The block is searched from v's line for the next
// occurrence only when the last one found lies before v; an occurrence that starts inside the
// line but runs past its end (into the next entry's bytes) rejects the line, which is right:
// the first occurrence in the line did not fit, so none does.
func (it *Iterator) mayContain(c *cursor, v entryView) bool {
	if it.needle == nil {
		return true
	}
	if c.noMore {
		return false
	}
	if c.expandSearch {
		line, ok := it.line(c, &v)
		return ok && bytes.Contains(line, it.needle)
	}
	start := int(v.lineStart)
	if c.hit < start {
		i := bytes.Index(c.dec.raw[start:], it.needle)
		if i < 0 {
			c.noMore = true
			return false
		}
		c.hit = start + i
	}
	return c.hit+len(it.needle) <= int(v.lineEnd)
}

func (it *Iterator) fail(c *cursor, err error) {
	it.err = fmt.Errorf("read block %d: %w: %w", c.index, err, ErrCorrupt)
}

// setEntry fills it.entry from c's current entry.
func (it *Iterator) setEntry(c *cursor) bool {
	v := &c.cur
	raw := c.dec.raw
	var line []byte
	if !it.withoutLines() {
		var ok bool
		if line, ok = it.line(c, v); !ok {
			it.cur = nil
			return false
		}
	}
	it.entry.Timestamp = v.ts
	it.entry.Line = unsafestr.String(line)
	if v.nmeta == 0 {
		it.entry.StructuredMetadata = labels.EmptyLabels()
		return true
	}
	md, err := it.metadata(raw[v.metaStart:v.metaEnd], int(v.nmeta))
	if err != nil {
		it.fail(c, err)
		it.cur = nil
		return false
	}
	it.entry.StructuredMetadata = md
	return true
}

// metadata resolves encoded symbol references to labels. Repeated metadata (the common case:
// a few distinct sets per stream) is served from a cache without allocating.
func (it *Iterator) metadata(refs []byte, n int) (labels.Labels, error) {
	if md, ok := it.mdCache[string(refs)]; ok {
		return md, nil
	}
	it.sb.Reset()
	pos := 0
	for i := 0; i < n; i++ {
		name, p := uvarint(refs, pos)
		value, p2 := uvarint(refs, p)
		if p < 0 || p2 < 0 || name >= uint64(len(it.syms)) || value >= uint64(len(it.syms)) {
			return labels.EmptyLabels(), fmt.Errorf("structured metadata refers to a missing symbol (table holds %d)", len(it.syms))
		}
		it.sb.Add(it.syms[name], it.syms[value])
		pos = p2
	}
	it.sb.Sort()
	md := it.sb.Labels()
	if it.mdCache == nil {
		it.mdCache = make(map[string]labels.Labels)
	} else if len(it.mdCache) >= mdCacheSize {
		clear(it.mdCache)
	}
	it.mdCache[string(refs)] = md
	return md, nil
}

// At returns the current entry. Its Line and StructuredMetadata are valid until Next.
func (it *Iterator) At() *logproto.Entry { return &it.entry }

// Labels returns the stream's labels, as passed when the iterator was created.
func (it *Iterator) Labels() labels.Labels { return it.lbls }

// StreamHash returns the hash of Labels, computed once.
func (it *Iterator) StreamHash() uint64 { return it.hash }

// Err returns the first error met; errors from bad block bytes wrap ErrCorrupt and name the
// block.
func (it *Iterator) Err() error { return it.err }

// Close releases the iterator's buffers; At's results are invalid afterwards. It is safe
// to call more than once.
func (it *Iterator) Close() error {
	if it.closed {
		return nil
	}
	it.closed = true
	for _, c := range it.active {
		c.release()
	}
	it.active, it.cur, it.pending = nil, nil, nil
	it.entry = logproto.Entry{}
	return nil
}

// Iterator returns an iterator over the chunk's entries with from <= timestamp < through,
// in direction dir, keeping only lines filter accepts (all when nil). lbls is the stream's
// label set, returned by the iterator's Labels; its hash is computed once.
func (c *Chunk) Iterator(lbls labels.Labels, from, through int64, dir logproto.Direction, filter LineFilter) *Iterator {
	srcs := make([]blockSource, 0, len(c.ix.Blocks))
	for i, m := range c.ix.Blocks {
		srcs = append(srcs, blockSource{meta: m, data: c.data[m.Offset : m.Offset+m.Length], index: i})
	}
	return newIterator(c.ix.Encoding, c.ix.Version, c.ix.syms, srcs, lbls, from, through, dir, filter)
}

// Iterator returns an iterator over the head's entries, cut blocks and head block alike; see
// Chunk.Iterator. The head block's entries in range are copied when the iterator is created,
// so later appends do not affect it and need no lock against it.
func (h *Head) Iterator(lbls labels.Labels, from, through int64, dir logproto.Direction, filter LineFilter) *Iterator {
	srcs := make([]blockSource, 0, len(h.blocks)+1)
	for i, m := range h.blocks {
		srcs = append(srcs, blockSource{meta: m, data: h.body[m.Offset : m.Offset+m.Length : m.Offset+m.Length], index: i})
	}
	if len(h.entries) > 0 && h.headMaxT >= from && h.headMinT < through {
		if raw, n, minT, maxT := h.sortedRaw(nil, from, through, false); n > 0 {
			srcs = append(srcs, blockSource{
				meta:  BlockMeta{MinT: minT, MaxT: maxT, Entries: n, RawSize: len(raw)},
				raw:   raw,
				index: len(h.blocks),
			})
		}
	}
	syms := h.syms.names[:len(h.syms.names):len(h.syms.names)]
	return newIterator(h.enc, Version, syms, srcs, lbls, from, through, dir, filter)
}
