package syntax

import "math"

// ApplyBinOp computes l op r for an arithmetic or comparison operator, with Loki's semantics
// (x/0 and x%0 are NaN). For a comparison without bool, keep reports whether the comparison
// held (the value is then l); with bool the value is 1 or 0 and keep is true.
func ApplyBinOp(op string, l, r float64, returnBool bool) (v float64, keep bool) {
	cmp := func(ok bool) (float64, bool) {
		if returnBool {
			if ok {
				return 1, true
			}
			return 0, true
		}
		return l, ok
	}
	switch op {
	case "+":
		return l + r, true
	case "-":
		return l - r, true
	case "*":
		return l * r, true
	case "/":
		if r == 0 { // Loki answers NaN, not ±Inf, for a division by zero
			return math.NaN(), true
		}
		return l / r, true
	case "%":
		if r == 0 {
			return math.NaN(), true
		}
		return math.Mod(l, r), true
	case "^":
		return math.Pow(l, r), true
	case "==":
		return cmp(l == r)
	case "!=":
		return cmp(l != r)
	case ">":
		return cmp(l > r)
	case ">=":
		return cmp(l >= r)
	case "<":
		return cmp(l < r)
	case "<=":
		return cmp(l <= r)
	}
	panic("syntax: ApplyBinOp with unknown operator " + op + " (parser bug)")
}
