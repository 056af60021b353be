package logql

import (
	"slices"

	"github.com/prometheus/prometheus/model/labels"

	"github.com/sluicelog/sluice/pkg/logql/syntax"
)

// binOpEvaluator combines two evaluators step by step with PromQL's binary operator semantics.
type binOpEvaluator struct {
	expr        *syntax.BinOp
	left, right stepEvaluator
	lScalar     bool
	rScalar     bool
	out         []sample
	err         error
	buf         []byte
	names       []string // the on/ignoring labels, sorted as the label hash functions need
}

func newBinOpEvaluator(b *syntax.BinOp, l, r stepEvaluator) *binOpEvaluator {
	ev := &binOpEvaluator{expr: b, left: l, right: r, lScalar: isScalar(l), rScalar: isScalar(r)}
	if b.Matching != nil {
		ev.names = slices.Clone(b.Matching.Labels)
		slices.Sort(ev.names)
	}
	return ev
}

func (b *binOpEvaluator) Err() error {
	if b.err != nil {
		return b.err
	}
	if err := b.left.Err(); err != nil {
		return err
	}
	return b.right.Err()
}

func (b *binOpEvaluator) Close() error {
	err := b.left.Close()
	if rerr := b.right.Close(); err == nil {
		err = rerr
	}
	return err
}

func (b *binOpEvaluator) Next() (int64, []sample, bool) {
	ts, lv, lok := b.left.Next()
	_, rv, rok := b.right.Next()
	if !lok || !rok || b.err != nil {
		return 0, nil, false
	}
	b.out = b.out[:0]
	var err error
	switch {
	case b.lScalar && b.rScalar:
		v, _ := syntax.ApplyBinOp(b.expr.Op, lv[0].v, rv[0].v, true)
		b.out = append(b.out, sample{metric: lv[0].metric, hash: lv[0].hash, v: v})
	case b.rScalar:
		b.scalarOp(lv, rv[0].v, false)
	case b.lScalar:
		b.scalarOp(rv, lv[0].v, true)
	case syntax.IsSetOp(b.expr.Op):
		b.setOp(lv, rv)
	default:
		err = b.vectorOp(lv, rv)
	}
	if err != nil {
		b.err = err
		return 0, nil, false
	}
	return ts, b.out, true
}

// scalarOp applies the operator between each sample and a scalar; swapped means the scalar is
// on the left. A comparison without bool keeps the sample's own value, as in PromQL.
func (b *binOpEvaluator) scalarOp(vec []sample, s float64, swapped bool) {
	for _, smp := range vec {
		l, r := smp.v, s
		if swapped {
			l, r = s, smp.v
		}
		v, keep := syntax.ApplyBinOp(b.expr.Op, l, r, b.expr.ReturnBool)
		if !keep {
			continue
		}
		if syntax.IsComparison(b.expr.Op) && !b.expr.ReturnBool {
			v = smp.v
		}
		b.out = append(b.out, smp)
		b.out[len(b.out)-1].v = v
	}
}

// signature hashes the labels a sample is matched on.
func (b *binOpEvaluator) signature(ls labels.Labels) uint64 {
	m := b.expr.Matching
	if m == nil {
		return ls.Hash()
	}
	var h uint64
	if m.On {
		h, b.buf = ls.HashForLabels(b.buf, b.names...)
	} else {
		h, b.buf = ls.HashWithoutLabels(b.buf, b.names...)
	}
	return h
}

func (b *binOpEvaluator) setOp(lv, rv []sample) {
	switch b.expr.Op {
	case "and", "unless":
		rs := make(map[uint64]struct{}, len(rv))
		for _, s := range rv {
			rs[b.signature(s.metric)] = struct{}{}
		}
		for _, s := range lv {
			_, ok := rs[b.signature(s.metric)]
			if ok == (b.expr.Op == "and") {
				b.out = append(b.out, s)
			}
		}
	case "or":
		ls := make(map[uint64]struct{}, len(lv))
		for _, s := range lv {
			ls[b.signature(s.metric)] = struct{}{}
			b.out = append(b.out, s)
		}
		for _, s := range rv {
			if _, ok := ls[b.signature(s.metric)]; !ok {
				b.out = append(b.out, s)
			}
		}
	}
}

// vectorOp matches samples of both sides one-to-one, or many-to-one with group_left /
// one-to-many with group_right.
func (b *binOpEvaluator) vectorOp(lv, rv []sample) error {
	m := b.expr.Matching
	card := ""
	if m != nil {
		card = m.Card
	}
	many, one := lv, rv
	if card == "group_right" {
		many, one = rv, lv
	}
	oneBySig := make(map[uint64]sample, len(one))
	for _, s := range one {
		sig := b.signature(s.metric)
		if prev, dup := oneBySig[sig]; dup {
			side := "right"
			if card == "group_right" {
				side = "left"
			}
			return userErrorf("found duplicate series for the match group %s on the %s hand-side of the operation: [%s, %s];"+
				"many-to-many matching not allowed: matching labels must be unique on one side", b.matchGroup(s.metric), side, prev.metric, s.metric)
		}
		oneBySig[sig] = s
	}
	matched := map[uint64]struct{}{}
	outSeen := map[uint64]struct{}{}
	for _, ms := range many {
		sig := b.signature(ms.metric)
		os, ok := oneBySig[sig]
		if !ok {
			continue
		}
		if card == "" {
			if _, dup := matched[sig]; dup {
				return userErrorf("multiple matches for labels: many-to-one matching must be explicit (group_left/group_right)")
			}
			matched[sig] = struct{}{}
		}
		l, r := ms.v, os.v
		if card == "group_right" {
			l, r = r, l
		}
		v, keep := syntax.ApplyBinOp(b.expr.Op, l, r, b.expr.ReturnBool)
		if !keep {
			continue
		}
		metric := b.resultMetric(ms.metric, os.metric)
		h := metric.Hash()
		if card != "" {
			if _, dup := outSeen[h]; dup {
				return userErrorf("multiple matches for labels: grouping labels must ensure unique matches")
			}
			outSeen[h] = struct{}{}
		}
		b.out = append(b.out, sample{metric: metric, hash: h, v: v})
	}
	return nil
}

func (b *binOpEvaluator) matchGroup(ls labels.Labels) labels.Labels {
	m := b.expr.Matching
	if m == nil {
		return ls
	}
	bl := labels.NewBuilder(ls)
	if m.On {
		bl.Keep(m.Labels...)
	} else {
		bl.Del(m.Labels...)
	}
	return bl.Labels()
}

// resultMetric is PromQL's: one-to-one keeps the matching labels of the left side;
// group_left/group_right keep the "many" side's labels plus the included ones of the other.
func (b *binOpEvaluator) resultMetric(many, one labels.Labels) labels.Labels {
	m := b.expr.Matching
	if m == nil {
		return many
	}
	bl := labels.NewBuilder(many)
	if m.Card == "" {
		if m.On {
			bl.Keep(m.Labels...)
		} else {
			bl.Del(m.Labels...)
		}
	}
	for _, name := range m.Include {
		if v := one.Get(name); v != "" {
			bl.Set(name, v)
		} else {
			bl.Del(name)
		}
	}
	return bl.Labels()
}
