package syntax

import (
	"strconv"
	"strings"
)

// prettyWidth is the longest canonical form Pretty keeps on one line, as Loki's formatter.
const prettyWidth = 100

// Pretty prints e as Loki's /format_query and `logcli fmt` do: an expression whose canonical
// form (String) fits in 100 characters stays on one line; a longer one is broken up, its parts
// indented two spaces a level:
//
//   - a log query puts its selector on the first line and each pipeline stage on its own
//     line, a level deeper (consecutive line filters count as one stage, itself broken up
//     when it is too long);
//   - a range or vector aggregation, and label_replace, put each argument on its own line, a
//     level deeper, and the closing parenthesis on a line of its own;
//   - a binary operation puts its operands a level deeper than the operator, each on its own
//     line, without the parentheses of the canonical form;
//   - an unwrap (and each of its filters) goes on its own line; a range's [interval] and
//     offset stay at the end of the line before them.
//
// The result parses back to an expression equal to e.
func Pretty(e Expr) string {
	var sb strings.Builder
	prettyExpr(&sb, e, 0)
	return sb.String()
}

func indent(sb *strings.Builder, level int) {
	for range level {
		sb.WriteString("  ")
	}
}

// openCall writes name and an opening parenthesis at level, ending the line: the arguments
// follow a level deeper, and closeCall ends them.
func openCall(sb *strings.Builder, name string, level int) {
	indent(sb, level)
	sb.WriteString(name + "(\n")
}

// closeCall writes the closing parenthesis of openCall on a line of its own.
func closeCall(sb *strings.Builder, level int) {
	sb.WriteByte('\n')
	indent(sb, level)
	sb.WriteByte(')')
}

// oneLine writes s at level when it fits, and reports whether it did.
func oneLine(sb *strings.Builder, s string, level int) bool {
	if len(s) > prettyWidth {
		return false
	}
	indent(sb, level)
	sb.WriteString(s)
	return true
}

func prettyExpr(sb *strings.Builder, e Expr, level int) {
	switch e := e.(type) {
	case *LogSelector:
		prettySelector(sb, e, level)
	case *RangeAggregation:
		prettyRange(sb, e, level)
	case *VectorAggregation:
		prettyVector(sb, e, level)
	case *BinOp:
		prettyBinOp(sb, e, level)
	case *LabelReplace:
		prettyLabelReplace(sb, e, level)
	default: // literals and vector(): one line whatever their length
		indent(sb, level)
		sb.WriteString(e.String())
	}
}

func prettySelector(sb *strings.Builder, e *LogSelector, level int) {
	if oneLine(sb, e.String(), level) {
		return
	}
	indent(sb, level)
	sb.WriteString(e.SelectorString())
	for i := 0; i < len(e.Stages); {
		sb.WriteByte('\n')
		j := i + 1
		if _, ok := e.Stages[i].(*LineFilter); ok {
			for j < len(e.Stages) {
				if _, ok := e.Stages[j].(*LineFilter); !ok {
					break
				}
				j++
			}
			prettyLineFilters(sb, e.Stages[i:j], level+1)
		} else {
			indent(sb, level+1)
			sb.WriteString(e.Stages[i].String())
		}
		i = j
	}
}

// prettyLineFilters writes a run of consecutive line filters: on one line when it fits, else
// the run but its last filter (the same way), and the last filter on a line of its own.
func prettyLineFilters(sb *strings.Builder, fs []Stage, level int) {
	if s := stagesString(fs); len(fs) == 1 || len(s) <= prettyWidth {
		indent(sb, level)
		sb.WriteString(s)
		return
	}
	prettyLineFilters(sb, fs[:len(fs)-1], level)
	sb.WriteByte('\n')
	indent(sb, level)
	sb.WriteString(fs[len(fs)-1].String())
}

func stagesString(fs []Stage) string {
	parts := make([]string, len(fs))
	for i, f := range fs {
		parts[i] = f.String()
	}
	return strings.Join(parts, " ")
}

// prettyLogRange writes a range's selector at level, its unwrap a level deeper on lines of
// their own, and its interval and offset after them.
func prettyLogRange(sb *strings.Builder, r *LogRange, level int) {
	prettySelector(sb, r.Left, level)
	if u := r.Unwrap; u != nil {
		sb.WriteByte('\n')
		indent(sb, level+1)
		sb.WriteString(u.head())
		for _, f := range u.PostFilters {
			sb.WriteByte('\n')
			indent(sb, level+1)
			sb.WriteString("| " + f.String())
		}
	}
	sb.WriteString(" [" + FormatDuration(r.Interval) + "]")
	if r.Offset != 0 {
		sb.WriteString(" offset " + FormatDuration(r.Offset))
	}
}

func prettyRange(sb *strings.Builder, e *RangeAggregation, level int) {
	if oneLine(sb, e.String(), level) {
		return
	}
	openCall(sb, e.Op, level)
	if e.Param != nil {
		indent(sb, level+1)
		sb.WriteString(formatFloat(*e.Param) + ",\n")
	}
	prettyLogRange(sb, e.Left, level+1)
	closeCall(sb, level)
	prettyGrouping(sb, e.Grouping)
}

// prettyGrouping writes by (a, b) or without (a, b), with a space before; by () is left out.
func prettyGrouping(sb *strings.Builder, g *Grouping) {
	if g == nil {
		return
	}
	switch {
	case g.Without:
		sb.WriteString(" without")
	case len(g.Labels) > 0:
		sb.WriteString(" by")
	}
	if len(g.Labels) > 0 {
		sb.WriteString(" (" + strings.Join(g.Labels, ", ") + ")")
	}
}

func prettyVector(sb *strings.Builder, e *VectorAggregation, level int) {
	if oneLine(sb, e.String(), level) {
		return
	}
	var head strings.Builder
	head.WriteString(e.Op)
	prettyGrouping(&head, e.Grouping)
	openCall(sb, head.String(), level)
	if e.Op == OpTopK || e.Op == OpBottomK || e.Op == OpApproxTopK {
		indent(sb, level+1)
		sb.WriteString(strconv.Itoa(e.Param) + ",\n")
	}
	prettyExpr(sb, e.Left, level+1)
	closeCall(sb, level)
}

func prettyBinOp(sb *strings.Builder, e *BinOp, level int) {
	if oneLine(sb, e.String(), level) {
		return
	}
	prettyOperand(sb, e.Left, level+1)
	sb.WriteByte('\n')
	indent(sb, level)
	sb.WriteString(e.Op)
	if e.ReturnBool {
		sb.WriteString(" bool")
	}
	if m := e.Matching; m != nil && (m.On || len(m.Labels) > 0 || m.Card != "") {
		if m.On {
			sb.WriteString(" on (")
		} else {
			sb.WriteString(" ignoring (")
		}
		sb.WriteString(strings.Join(m.Labels, ", ") + ")")
		if m.Card != "" {
			sb.WriteString(" " + m.Card)
			if len(m.Include) > 0 {
				sb.WriteString(" (" + strings.Join(m.Include, ", ") + ")")
			}
		}
	}
	sb.WriteByte('\n')
	prettyOperand(sb, e.Right, level+1)
}

// prettyOperand writes an operand of a broken-up binary operation. One that is itself a binary
// operation too long for a line keeps its parentheses, on lines of their own: without them
// precedence would regroup it (Loki's formatter drops them, and (a + b) * c comes back as
// a + b * c).
func prettyOperand(sb *strings.Builder, e SampleExpr, level int) {
	b, ok := e.(*BinOp)
	if !ok || len(b.String()) <= prettyWidth {
		prettyExpr(sb, e, level)
		return
	}
	openCall(sb, "", level)
	prettyBinOp(sb, b, level+1)
	closeCall(sb, level)
}

func prettyLabelReplace(sb *strings.Builder, e *LabelReplace, level int) {
	if oneLine(sb, e.String(), level) {
		return
	}
	openCall(sb, "label_replace", level)
	prettyExpr(sb, e.Left, level+1)
	for _, s := range []string{e.Dst, e.Replacement, e.Src, e.Regex} {
		sb.WriteString(",\n")
		indent(sb, level+1)
		sb.WriteString(strconv.Quote(s))
	}
	closeCall(sb, level)
}
