package log

import "bytes"

// The lines of one stream nearly always carry the same keys in the same order, and many of
// their values (levels, methods, status codes) repeat from one line to the next. A fieldCache
// remembers, for each position in the previous line, the key found there and what the parser
// made of it (sanitised name, _extracted suffix, whether the builder wants it) and the last
// value's string. A parser that finds the same key bytes at the same position reuses all of
// it, with a byte comparison instead of sanitising and map lookups; anything else falls back
// to the full computation and refreshes the slot. Every cached result is a pure function of
// the bytes compared and of the stream's builder, which owns the cache, so a hit returns
// exactly what the full computation would.

// maxCachedFields bounds the positions remembered per parser and stream: lines with more
// fields are parsed as usual past it.
const maxCachedFields = 256

// maxCachedValueLen bounds the values a slot remembers: longer ones (messages, stack traces)
// rarely repeat, and copying them into the slot would cost more than it saves.
const maxCachedValueLen = 128

// fieldSlot is what a parser made of one key position of the previous line.
type fieldSlot struct {
	raw     []byte // the key as written in the line, escapes included
	escaped bool   // raw contains escapes
	prefix  int    // length of the nesting prefix of key (JSON objects); 0 at the top
	key     []byte // the sanitised key, prefix included
	name    string // the label name: key, plus DuplicateSuffix when the stream has key
	want    bool   // the builder wants a label called name
	hasVal  bool
	val     []byte // the last value's bytes (as given to labelNames.text)
	str     string // the label value made from val
}

// fieldCache is one parser's slots for the entries of one stream.
type fieldCache struct {
	owner any // the parser
	slots []fieldSlot
	next  int // the position of the next key in the current line
}

// fieldCache returns the cache of parser owner for this stream, starting a new line.
func (b *LabelsBuilder) fieldCache(owner any) *fieldCache {
	for _, c := range b.fields {
		if c.owner == owner {
			c.next = 0
			return c
		}
	}
	c := &fieldCache{owner: owner}
	b.fields = append(b.fields, c)
	return c
}

// lookup returns the slot for the next key of the line if it holds raw (with the same
// escaping, found under the same prefix of c's parser key buffer), advancing to the following
// position; otherwise it returns nil and the parser calls fill.
func (c *fieldCache) lookup(raw []byte, escaped bool, prefix []byte) *fieldSlot {
	if c.next >= len(c.slots) {
		return nil
	}
	sl := &c.slots[c.next]
	if sl.escaped != escaped || sl.prefix != len(prefix) || !bytes.Equal(sl.raw, raw) ||
		!bytes.Equal(sl.key[:sl.prefix], prefix) {
		return nil
	}
	c.next++
	return sl
}

// fill records at the next position that raw (under prefix) gave the sanitised key and the
// label name, and returns the slot, or nil past maxCachedFields (the caller then uses the
// values it computed itself).
func (c *fieldCache) fill(raw []byte, escaped bool, prefix int, key []byte, name string, want bool) *fieldSlot {
	if c.next >= maxCachedFields {
		return nil
	}
	if c.next == len(c.slots) {
		c.slots = append(c.slots, fieldSlot{})
	}
	sl := &c.slots[c.next]
	c.next++
	sl.raw = append(sl.raw[:0], raw...)
	sl.escaped = escaped
	sl.prefix = prefix
	sl.key = append(sl.key[:0], key...)
	sl.name = name
	sl.want = want
	sl.hasVal = false
	return sl
}

// value returns n.text(v), reusing the slot's string when v equals the previous value.
func (sl *fieldSlot) value(v []byte, n *labelNames) string {
	if sl.hasVal && bytes.Equal(sl.val, v) {
		return sl.str
	}
	s := n.text(v)
	if len(v) <= maxCachedValueLen {
		sl.val = append(sl.val[:0], v...)
		sl.str = s
		sl.hasVal = true
	} else {
		sl.hasVal = false
	}
	return s
}
