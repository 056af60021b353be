package chunk

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"math/bits"
	"runtime"
	"slices"
	"sync"

	"github.com/prometheus/prometheus/model/labels"

	"github.com/sluicelog/sluice/pkg/logproto"
)

// Head is the open chunk of one stream in an ingester: an unordered head block that takes
// appends, the compressed blocks already cut from it, and the chunk's symbol table.
//
// Entries may arrive in any order; the head block is sorted when it is cut into a block, so
// the blocks of one chunk may overlap in time, and iterators merge them. A Head is not safe
// for concurrent use: the ingester serialises Append, CutBlock, Encode and Iterator calls
// (an iterator, once created, may be used while later appends happen).
type Head struct {
	enc        Encoding
	blockSize  int
	targetSize int

	// body is the header followed by the cut blocks: the first part of the final encoding.
	// It is only ever appended to, so iterators can keep a view of it.
	body   []byte
	blocks []BlockMeta
	cutRaw int // raw size of the cut blocks

	// The head block: entries in arrival order, their lines in lines and their metadata
	// references in refs.
	entries  []headEntry
	lines    []byte
	refs     []uint32
	headRaw  int // raw encoded size of the head block (exact but for timestamp varints)
	headMinT int64
	headMaxT int64

	syms  symbolTable
	size  int // sum of line and metadata bytes of every entry: the uncompressed size
	count int
	minT  int64
	maxT  int64
	// The symbol references of the last metadata appended (refsOf), and its size.
	refsTemp []uint32
	refsOf   labels.Labels
	refsSize int
}

// stampAt is the elided stamp of one line of the block being written: its layout number (0:
// none), where it starts in the line and its distance from the entry's timestamp.
type stampAt struct {
	num uint8
	off int32
	d   int64
}

// blockScratch is what writing a block needs besides the head and the output: shared, since a
// head writes a block only now and then, and an ingester has a head per stream.
type blockScratch struct {
	order   []int32  // sort order of the head block
	deltas  []uint64 // the stored timestamp deltas of the block being written
	stamps  []stampAt
	stamper stamper
	// The hex runs of the block being written, in order, and how many each line has.
	hexRuns   []hexRunAt
	hexCounts []uint32
	hexTable  []hexSlot // the runs seen so far, to find repeats (findHexRuns)
}

// hexSlot is a slot of findHexRuns' table of the runs seen: a run's first eight digits folded to
// 32 bits, and the index in the block's runs, plus one, of the latest run equal to it
// (0: an empty slot).
type hexSlot struct {
	check, last uint32
}

// blockScratches keeps a few free blockScratches, about as many as blocks are written at once.
// Unlike a sync.Pool it keeps them across garbage collections, so they are not grown again
// from nothing, block after block.
var blockScratches = make(chan *blockScratch, 4*runtime.GOMAXPROCS(0))

// maxPooledEntries bounds the entries a kept blockScratch has room for, so that one huge
// block does not pin its memory.
const maxPooledEntries = 1 << 16

func getBlockScratch() *blockScratch {
	select {
	case sc := <-blockScratches:
		return sc
	default:
		return new(blockScratch)
	}
}

func putBlockScratch(sc *blockScratch) {
	if cap(sc.order) > maxPooledEntries || cap(sc.hexRuns) > maxPooledEntries || cap(sc.hexTable) > 2*maxPooledEntries {
		return
	}
	select {
	case blockScratches <- sc:
	default: // enough are kept
	}
}

type headEntry struct {
	ts                 int64
	lineOff, lineLen   uint32
	refsOff, refsCount uint32 // refs[refsOff : refsOff+refsCount]
}

// NewHead returns an empty head that compresses blocks with enc, cuts a block when the
// head block's raw size reaches blockSize (DefaultBlockSize if 0) and reports the chunk full
// at targetSize compressed bytes (DefaultTargetSize if 0).
func NewHead(enc Encoding, blockSize, targetSize int) (*Head, error) {
	if !enc.Valid() {
		return nil, fmt.Errorf("new chunk head: encoding %v: %w", enc, ErrUnsupportedEncoding)
	}
	if blockSize < 0 || blockSize > maxBlockRawSize/2 || targetSize < 0 {
		return nil, fmt.Errorf("new chunk head: block size %d or target size %d out of range", blockSize, targetSize)
	}
	if blockSize == 0 {
		blockSize = DefaultBlockSize
	}
	if targetSize == 0 {
		targetSize = DefaultTargetSize
	}
	return &Head{
		enc:        enc,
		blockSize:  blockSize,
		targetSize: targetSize,
		body:       appendHeader(nil, enc),
	}, nil
}

// Append adds e to the head block, in any time order. An entry with the same timestamp and
// line as one still in the head block is dropped and reported as ErrDuplicate. The head
// copies e's line and metadata; the caller may reuse e. When the head block reaches the
// block size it is cut into a compressed block.
func (h *Head) Append(e *logproto.Entry) error {
	if len(e.Line) > maxBlockRawSize/2 {
		return fmt.Errorf("append entry: line of %d bytes exceeds %d", len(e.Line), maxBlockRawSize/2)
	}
	if len(h.entries) > 0 && e.Timestamp <= h.headMaxT && h.isDuplicate(e) {
		return ErrDuplicate
	}
	// Intern the metadata before touching the head block, so a failure leaves it unchanged.
	// Consecutive entries of a stream mostly carry the same metadata (every entry has its
	// detected_level): then the previous entry's references serve again, which costs one
	// comparison instead of two map look-ups per label. A labels.Labels value is immutable, so
	// keeping the previous one to compare with is safe.
	if !labels.Equal(e.StructuredMetadata, h.refsOf) {
		refs := h.refsTemp[:0]
		size := 0
		e.StructuredMetadata.Range(func(l labels.Label) {
			refs = append(refs, h.syms.ref(l.Name), h.syms.ref(l.Value))
			size += len(l.Name) + len(l.Value)
		})
		h.refsTemp, h.refsOf, h.refsSize = refs, e.StructuredMetadata, size
	}
	refs, mdSize := h.refsTemp, h.refsSize

	if len(h.entries) == 0 || e.Timestamp < h.headMinT {
		h.headMinT = e.Timestamp
	}
	if len(h.entries) == 0 || e.Timestamp > h.headMaxT {
		h.headMaxT = e.Timestamp
	}
	if h.count == 0 || e.Timestamp < h.minT {
		h.minT = e.Timestamp
	}
	if h.count == 0 || e.Timestamp > h.maxT {
		h.maxT = e.Timestamp
	}
	h.entries = append(h.entries, headEntry{
		ts:        e.Timestamp,
		lineOff:   uint32(len(h.lines)),
		lineLen:   uint32(len(e.Line)),
		refsOff:   uint32(len(h.refs)),
		refsCount: uint32(len(refs)),
	})
	h.lines = append(h.lines, e.Line...)
	h.refs = append(h.refs, refs...)
	// Two bytes is a typical timestamp delta between sorted neighbours.
	h.headRaw += 2 + uvarintLen(uint64(len(e.Line))) + len(e.Line) + 1 + 2*len(refs)
	h.size += len(e.Line) + mdSize
	h.count++
	if h.headRaw >= h.blockSize {
		return h.CutBlock()
	}
	return nil
}

// HandOver gives h's head-block buffers, emptied, to next, an empty head that takes over from
// h: an ingester cutting one chunk after another for a busy stream then does not grow them
// from nothing for every chunk (about 5% of its CPU in the storage benchmark). h must not be
// appended to afterwards; iterators and encodings made from it stay valid, as they never
// share these buffers.
func (h *Head) HandOver(next *Head) {
	if len(next.entries) != 0 || cap(h.lines) > 2*h.blockSize {
		return
	}
	next.entries, next.lines, next.refs = h.entries[:0], h.lines[:0], h.refs[:0]
	h.entries, h.lines, h.refs = nil, nil, nil
	// The body cannot be handed over (iterators and encodings may still view it), but the
	// next one will likely grow as large: allocate it once at that size.
	if len(h.body) <= cap(next.body) {
		return
	}
	body := make([]byte, len(next.body), len(h.body)+len(h.body)/8)
	copy(body, next.body)
	next.body = body
}

// isDuplicate reports whether the head block holds an entry with e's timestamp and line.
// In-order appends never get here; an out-of-order one scans the head block, which holds a
// thousand or so entries at the default block size: a microsecond, and rare.
func (h *Head) isDuplicate(e *logproto.Entry) bool {
	for i := len(h.entries) - 1; i >= 0; i-- {
		he := &h.entries[i]
		if he.ts == e.Timestamp && int(he.lineLen) == len(e.Line) &&
			string(h.lines[he.lineOff:he.lineOff+he.lineLen]) == e.Line {
			return true
		}
	}
	return false
}

// CutBlock sorts the head block by time, compresses it and appends it to the cut blocks.
// It does nothing when the head block is empty. The ingester may call it to bound the age of
// uncompressed data; Append and Encode call it when needed.
func (h *Head) CutBlock() error {
	if len(h.entries) == 0 {
		return nil
	}
	// The raw block is needed only while it is compressed: a pooled buffer, rather than one
	// kept per head, saves a block's size per stream (27 MB of a 159 MB heap with 100
	// streams, in the storage benchmark's heap profile).
	scratch := getScratch()
	raw, _, _, _ := h.sortedRaw((*scratch)[:0], minInt64, maxInt64, true)
	defer func() { *scratch = raw; putScratch(scratch) }()
	off := len(h.body)
	body, err := compressBlock(h.enc, h.body, raw, len(h.entries))
	if err != nil {
		return fmt.Errorf("cut block %d: %w", len(h.blocks), err)
	}
	h.body = body
	h.blocks = append(h.blocks, BlockMeta{
		MinT:    h.headMinT,
		MaxT:    h.headMaxT,
		Entries: len(h.entries),
		Offset:  off,
		Length:  len(body) - off,
		RawSize: len(raw),
		CRC:     checksum(body[off:]),
	})
	h.cutRaw += len(raw)
	h.entries = h.entries[:0]
	h.lines = h.lines[:0]
	h.refs = h.refs[:0]
	h.headRaw = 0
	return nil
}

const (
	minInt64 = -1 << 63
	maxInt64 = 1<<63 - 1
)

// sortedRaw appends the raw block encoding (the current Version's) of the head entries with
// from <= ts < through, in time order (arrival order among equal timestamps), to dst; through
// == maxInt64 means no upper bound. It elides the lines' stamps when stamp is set: worth it for
// a block to be stored, not for a query's snapshot. It returns the extended slice, the number
// of entries written and their smallest and largest timestamps.
func (h *Head) sortedRaw(dst []byte, from, through int64, stamp bool) (raw []byte, n int, minT, maxT int64) {
	sc := getBlockScratch()
	defer putBlockScratch(sc)
	order := sc.order[:0]
	sorted := true
	for i := range h.entries {
		ts := h.entries[i].ts
		if ts < from || (ts >= through && through != maxInt64) {
			continue
		}
		if len(order) > 0 && ts < h.entries[order[len(order)-1]].ts {
			sorted = false
		}
		order = append(order, int32(i))
	}
	if !sorted {
		slices.SortStableFunc(order, func(a, b int32) int {
			return cmpInt64(h.entries[a].ts, h.entries[b].ts)
		})
	}
	sc.order = order
	if len(order) == 0 {
		return dst, 0, 0, 0
	}
	return h.appendBlock(dst, sc, order, stamp), len(order), h.entries[order[0]].ts, h.entries[order[len(order)-1]].ts
}

// anyLineHolds reports whether a line of the entries order lists holds c.
func (h *Head) anyLineHolds(order []int32, c byte) bool {
	if len(order) == len(h.entries) { // the whole head block: one search of all its lines
		return bytes.IndexByte(h.lines, c) >= 0
	}
	for _, idx := range order {
		e := &h.entries[idx]
		if bytes.IndexByte(h.lines[e.lineOff:e.lineOff+e.lineLen], c) >= 0 {
			return true
		}
	}
	return false
}

// freeMark returns the first control byte (0x01–0x1f) that no line of the entries order lists
// holds, other than the bytes taken already (-1: none), to stand for what a block moves out of
// its lines; ok is false when every one is taken or held.
func (h *Head) freeMark(order []int32, taken [2]int) (mark byte, ok bool) {
	for c := byte(1); c < 0x20; c++ {
		if int(c) != taken[0] && int(c) != taken[1] && !h.anyLineHolds(order, c) {
			return c, true
		}
	}
	return 0, false
}

// appendBlock appends the raw block (format Version, block.go) of the head entries order
// lists, in that order (non-decreasing timestamps), to dst, eliding the lines' stamps when
// stamp is set.
func (h *Head) appendBlock(dst []byte, sc *blockScratch, order []int32, stamp bool) []byte {
	n := len(order)
	first := h.entries[order[0]].ts
	// The stored deltas: each delta between neighbours divided by the largest 10^e that
	// divides them all, computed once for the sizes and the two parts of the column.
	deltas := sc.deltas[:0]
	exp := len(pow10) - 1
	last := first
	for _, idx := range order[1:] {
		d := uint64(h.entries[idx].ts - last)
		for exp > 0 && d%pow10[exp] != 0 {
			exp--
		}
		deltas = append(deltas, d)
		last = h.entries[idx].ts
	}
	if n == 1 {
		exp = 0
	}
	for i := range deltas {
		deltas[i] /= pow10[exp]
	}
	sc.deltas = deltas
	// Low bytes in planes: those below the mean delta's top four bits, which are close to
	// uniform for deltas spread around their mean.
	k := 0
	if n > 1 {
		mean := uint64(last-first) / pow10[exp] / uint64(n-1)
		k = max(0, (bits.Len64(mean)-4)/8)
		// The bytes above those still vary widely from delta to delta when the gaps are drawn
		// at random rather than kept by a steady cadence, and then their uvarints, a byte or
		// two of nearly random bits, compress worse than one more plane: a plane byte costs 8
		// bits, where zstd stores such uvarints as they are. A steady cadence leaves a few
		// values there, which compress to nearly nothing as they are.
		if wide := (bits.Len64(mean) + 1) / 8; wide > k && manyValues(deltas, uint(8*k)) {
			k = wide
		}
	}
	shift := uint(8 * k)
	// A separator no line holds, if there is one.
	sep, separated := byte('\n'), true
	if h.anyLineHolds(order, sep) {
		sep = 0
		separated = !h.anyLineHolds(order, sep)
	}

	// Stamps, if the block has a mark for them: a control byte no line holds; then hex runs,
	// if there is another.
	esc, stamps := h.findStamps(sc, order, stamp, separated, sep)
	hexMark, runs := h.findHexRuns(sc, order, stamp, separated, sep, esc, stamps)

	// The columns' sizes go first, so measure them before writing them.
	tsLen := uvarintLen(uint64(first<<1)^uint64(first>>63)) + 2
	lensLen, metaLen, stampsLen := 0, 0, 0
	nextRun := 0
	for i, idx := range order {
		en := &h.entries[idx]
		if !separated {
			var lineRuns []hexRunAt
			lineRuns, nextRun = sc.lineRuns(runs, i, nextRun)
			lensLen += uvarintLen(uint64(h.storedLen(i, idx, stamps, lineRuns)))
		}
		if stamps != nil {
			stampsLen += uvarintLen(uint64(stamps[i].num))
			if stamps[i].num > 0 {
				d := stamps[i].d
				stampsLen += uvarintLen(uint64(d<<1) ^ uint64(d>>63))
			}
		}
		metaLen += uvarintLen(uint64(en.refsCount / 2))
		for _, r := range h.refs[en.refsOff : en.refsOff+en.refsCount] {
			metaLen += uvarintLen(uint64(r))
		}
	}
	for _, d := range deltas {
		tsLen += uvarintLen(d >> shift)
	}
	countsLen, headsLen, packLen := 0, 0, 0
	if runs != nil {
		for _, c := range sc.hexCounts {
			countsLen += uvarintLen(uint64(c))
		}
		for _, r := range runs {
			headsLen += uvarintLen(r.head())
			if r.rep == 0 {
				packLen += packedLen(int(r.n))
			}
		}
	}
	dst = appendUvarint(dst, uint64(tsLen))
	dst = appendUvarint(dst, uint64(lensLen))
	dst = appendUvarint(dst, uint64(metaLen))
	var flags byte
	if separated {
		flags = flagSeparated
	} else {
		sep = 0
	}
	if stamps != nil {
		flags |= flagStamped
	}
	if runs != nil {
		flags |= flagHex
	}
	dst = append(dst, flags, sep)
	if stamps != nil {
		dst = appendUvarint(dst, uint64(stampsLen))
		dst = append(dst, esc)
	}
	if runs != nil {
		dst = appendUvarint(dst, uint64(countsLen))
		dst = appendUvarint(dst, uint64(headsLen))
		dst = appendUvarint(dst, uint64(packLen))
		dst = append(dst, hexMark)
	}

	dst = appendVarint(dst, first)
	dst = append(dst, byte(exp), byte(k))
	for _, d := range deltas {
		dst = appendUvarint(dst, d>>shift)
	}
	if !separated {
		nextRun = 0
		for i, idx := range order {
			var lineRuns []hexRunAt
			lineRuns, nextRun = sc.lineRuns(runs, i, nextRun)
			dst = appendUvarint(dst, uint64(h.storedLen(i, idx, stamps, lineRuns)))
		}
	}
	for _, idx := range order {
		en := &h.entries[idx]
		dst = appendUvarint(dst, uint64(en.refsCount/2))
		for _, r := range h.refs[en.refsOff : en.refsOff+en.refsCount] {
			dst = appendUvarint(dst, uint64(r))
		}
	}
	for _, st := range stamps {
		dst = appendUvarint(dst, uint64(st.num))
		if st.num > 0 {
			dst = appendVarint(dst, st.d)
		}
	}
	if runs != nil {
		for _, c := range sc.hexCounts {
			dst = appendUvarint(dst, uint64(c))
		}
		for _, r := range runs {
			dst = appendUvarint(dst, r.head())
		}
	}
	// The planes and the packed hex runs close the first part, where the store keeps them as
	// they are (compressBlock).
	for b := range k {
		for _, d := range deltas {
			dst = append(dst, byte(d>>(8*b)))
		}
	}
	for _, r := range runs {
		if r.rep == 0 {
			dst = appendPacked(dst, h.lines[r.at:r.at+r.n])
		}
	}
	nextRun = 0
	for i, idx := range order {
		en := &h.entries[idx]
		line := h.lines[en.lineOff : en.lineOff+en.lineLen]
		// The line's stamp and runs, in line order, each replaced by its mark.
		stampOff := -1
		if stamps != nil && stamps[i].num > 0 {
			stampOff = int(stamps[i].off)
		}
		var lineRuns []hexRunAt
		lineRuns, nextRun = sc.lineRuns(runs, i, nextRun)
		pos := 0
		for stampOff >= 0 || len(lineRuns) > 0 {
			if stampOff >= 0 && (len(lineRuns) == 0 || stampOff < int(lineRuns[0].at-en.lineOff)) {
				dst = append(dst, line[pos:stampOff]...)
				dst = append(dst, esc)
				pos = stampOff + stampFormats[stamps[i].num-1].width
				stampOff = -1
				continue
			}
			at := int(lineRuns[0].at - en.lineOff)
			dst = append(dst, line[pos:at]...)
			dst = append(dst, hexMark)
			pos = at + int(lineRuns[0].n)
			lineRuns = lineRuns[1:]
		}
		dst = append(dst, line[pos:]...)
		if separated {
			dst = append(dst, sep)
		}
	}
	return dst
}

// lineRuns returns the runs of the i-th line of the block being written, which start at
// runs[next], and where the next line's start.
func (sc *blockScratch) lineRuns(runs []hexRunAt, i, next int) ([]hexRunAt, int) {
	if runs == nil {
		return nil, next
	}
	end := next + int(sc.hexCounts[i])
	return runs[next:end], end
}

// storedLen is the length of the line of entry idx, the i-th of the block being written, once
// its stamp and its hex runs, lineRuns, are replaced by their marks.
func (h *Head) storedLen(i int, idx int32, stamps []stampAt, lineRuns []hexRunAt) int {
	l := int(h.entries[idx].lineLen)
	if stamps != nil && stamps[i].num > 0 {
		l -= stampFormats[stamps[i].num-1].width - 1
	}
	for _, r := range lineRuns {
		l -= int(r.n) - 1
	}
	return l
}

// findHexRuns finds the hex runs of the lines order lists, outside their stamps, when stamp
// is set (a block to be stored) and a control byte other than the separator and the stamp mark
// is in no line, to mark them with. It returns the mark and the runs in line order, each
// marked as a repeat of an earlier one where it is, and sets sc.hexCounts; the runs are nil when
// no line has one.
func (h *Head) findHexRuns(sc *blockScratch, order []int32, stamp, separated bool, sep, esc byte, stamps []stampAt) (byte, []hexRunAt) {
	if !stamp {
		return 0, nil
	}
	taken := [2]int{-1, -1}
	if separated {
		taken[0] = int(sep)
	}
	if stamps != nil {
		taken[1] = int(esc)
	}
	mark, ok := h.freeMark(order, taken)
	if !ok {
		return 0, nil
	}
	runs, counts := sc.hexRuns[:0], sc.hexCounts[:0]
	for i, idx := range order {
		en := &h.entries[idx]
		from, to := -1, -1
		if stamps != nil && stamps[i].num > 0 {
			from = int(stamps[i].off)
			to = from + stampFormats[stamps[i].num-1].width
		}
		n := len(runs)
		runs = appendHexRuns(runs, h.lines[en.lineOff:en.lineOff+en.lineLen], en.lineOff, from, to)
		counts = append(counts, uint32(len(runs)-n))
	}
	sc.hexRuns, sc.hexCounts = runs, counts
	if len(runs) == 0 {
		return 0, nil
	}
	// A run equal to an earlier one of the block is stored as a repeat of the latest such run:
	// a request's trace ID comes back after the lines of the requests served meanwhile. The
	// runs seen are kept in an open-addressing table, at most half full, keyed by their first
	// eight digits (every run has sixteen): a hash of them picks the slot, and the slot keeps
	// them folded to 32 bits, which tell most runs apart without comparing them whole.
	size := 64
	for size < 2*len(runs) {
		size <<= 1
	}
	table := sc.hexTable
	if cap(table) < size {
		table = make([]hexSlot, size)
	} else {
		table = table[:size]
		clear(table)
	}
	shift, mask := uint(64-bits.TrailingZeros(uint(size))), uint64(size-1)
	for j := range runs {
		r := &runs[j]
		run := h.lines[r.at : r.at+r.n]
		key := binary.LittleEndian.Uint64(run)
		check := uint32(key) ^ uint32(key>>32)
		for s := (key * 0x9e3779b97f4a7c15) >> shift; ; s = (s + 1) & mask {
			sl := &table[s]
			if sl.last == 0 {
				*sl = hexSlot{check: check, last: uint32(j + 1)}
				break
			}
			if p := runs[sl.last-1]; sl.check == check && p.n == r.n && bytes.Equal(h.lines[p.at:p.at+p.n], run) {
				r.rep = uint32(j+1) - sl.last
				sl.last = uint32(j + 1)
				break
			}
		}
	}
	sc.hexTable = table
	return mark, runs
}

// manyValues reports whether the deltas shifted right by shift take more than 16 values.
func manyValues(deltas []uint64, shift uint) bool {
	var seen [16]uint64
	n := 0
outer:
	for _, d := range deltas {
		v := d >> shift
		for _, s := range seen[:n] {
			if s == v {
				continue outer
			}
		}
		if n == len(seen) {
			return true
		}
		seen[n] = v
		n++
	}
	return false
}

// findStamps finds the stamps of the lines order lists, when stamp is set and a control byte
// other than the separator is in no line, to mark them with. It returns the mark and a stamp
// per line, or nil when no line has one.
func (h *Head) findStamps(sc *blockScratch, order []int32, stamp, separated bool, sep byte) (byte, []stampAt) {
	if !stamp {
		return 0, nil
	}
	taken := [2]int{-1, -1}
	if separated {
		taken[0] = int(sep)
	}
	esc, ok := h.freeMark(order, taken)
	if !ok {
		return 0, nil
	}
	stamps := sc.stamps[:0]
	found := 0
	sc.stamper.reset()
	for _, idx := range order {
		en := &h.entries[idx]
		num, off, d := sc.stamper.find(h.lines[en.lineOff:en.lineOff+en.lineLen], en.ts)
		stamps = append(stamps, stampAt{num: uint8(num), off: int32(off), d: d})
		if num > 0 {
			found++
		}
	}
	sc.stamps = stamps
	if found == 0 {
		return 0, nil
	}
	return esc, stamps
}

// Entries returns the number of entries appended (duplicates excluded).
func (h *Head) Entries() int { return h.count }

// UncompressedSize returns the bytes of every line and metadata label appended: the size
// Loki reports as a chunk's uncompressed size.
func (h *Head) UncompressedSize() int { return h.size }

// CompressedSize estimates the size of the chunk if it were encoded now: the cut blocks
// exactly, the head block at the compression ratio of the cut blocks (or uncompressed
// before the first cut), plus the symbol table uncompressed.
func (h *Head) CompressedSize() int {
	cut := len(h.body) - HeaderSize
	head := h.headRaw
	if h.cutRaw > 0 {
		head = int(int64(head) * int64(cut) / int64(h.cutRaw))
	}
	// The symbol table counts uncompressed: it is small unless metadata values are unique,
	// and then they rarely compress.
	return HeaderSize + cut + head + h.syms.size + len(h.blocks)*16 + 32 + TrailerSize
}

// SpaceFor reports whether e fits in the chunk without taking its estimated compressed size
// past the target size. The ingester cuts the chunk (Encode, then a new Head) when it does
// not. An empty head always has space.
func (h *Head) SpaceFor(e *logproto.Entry) bool {
	if h.count == 0 {
		return true
	}
	return h.CompressedSize()+len(e.Line) < h.targetSize
}

// Bounds returns the smallest and largest timestamps appended; both are 0 for an empty head.
func (h *Head) Bounds() (minT, maxT int64) { return h.minT, h.maxT }

// InOrder reports what Chunk.InOrder would report of the head's chunk if it were encoded now:
// whether its cut blocks, and the head block after them, each start after the previous one
// ends. Then no entry of the head repeats another (a head block refuses a duplicate of an
// entry it holds), and a reader needs no de-duplication within it.
func (h *Head) InOrder() bool {
	for i := 1; i < len(h.blocks); i++ {
		if h.blocks[i].MinT <= h.blocks[i-1].MaxT {
			return false
		}
	}
	return len(h.entries) == 0 || len(h.blocks) == 0 || h.headMinT > h.blocks[len(h.blocks)-1].MaxT
}

// Blocks returns the number of cut blocks.
func (h *Head) Blocks() int { return len(h.blocks) }

// Encoding returns the head's block codec.
func (h *Head) Encoding() Encoding { return h.enc }

// Encode cuts the head block and appends the chunk's final, immutable encoding to dst. The
// head stays usable: later appends go into new blocks, and a later Encode includes them.
func (h *Head) Encode(dst []byte) ([]byte, error) {
	if err := h.CutBlock(); err != nil {
		return dst, fmt.Errorf("encode chunk: %w", err)
	}
	start := len(dst)
	// One allocation for the whole encoding: the body, the index (at most about 60 bytes a
	// block), the symbol table (smaller compressed than raw) and the trailer.
	dst = slices.Grow(dst, len(h.body)+len(h.blocks)*60+32+h.syms.size+4*len(h.syms.names)+TrailerSize)
	dst = append(dst, h.body...)
	var sm symbolsMeta
	var syms []byte
	if n := len(h.syms.names); n > 0 {
		scratch := getScratch()
		raw := appendSymbols((*scratch)[:0], h.syms.names)
		defer func() { *scratch = raw; putScratch(scratch) }()
		var err error
		if syms, err = compress(h.enc, nil, raw); err != nil {
			return dst[:start], fmt.Errorf("encode chunk symbols: %w", err)
		}
		sm = symbolsMeta{Length: len(syms), RawSize: len(raw), Count: n, CRC: checksum(syms)}
	}
	idxOff := len(dst) - start
	dst = appendIndex(dst, h.blocks, sm)
	t := Trailer{
		IndexOffset: int64(idxOff),
		IndexLength: len(dst) - start - idxOff,
		IndexCRC:    checksum(dst[start+idxOff:]),
		Encoding:    h.enc,
		Version:     Version,
	}
	dst = append(dst, syms...)
	return appendTrailer(dst, t), nil
}

// Bytes returns the chunk's final encoding in a new slice; see Encode.
func (h *Head) Bytes() ([]byte, error) { return h.Encode(nil) }

var scratches = sync.Pool{New: func() any { return new([]byte) }}

func getScratch() *[]byte { return scratches.Get().(*[]byte) }

func putScratch(b *[]byte) {
	if cap(*b) > 2*maxBlockRawSize { // rare huge blocks are not kept
		return
	}
	scratches.Put(b)
}
