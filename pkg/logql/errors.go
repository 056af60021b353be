package logql

import (
	"fmt"

	"github.com/prometheus/prometheus/model/labels"
)

// PipelineError is a metric query whose pipeline produced entries with an __error__ label that
// the query did not filter out. As in Loki, such a query fails rather than silently mixing
// failed conversions into its numbers; the fix is a label filter such as | __error__="".
type PipelineError struct {
	ErrorType string        // the value of __error__, e.g. JSONParserErr
	Series    labels.Labels // the series that carried it
}

func (e *PipelineError) Error() string {
	return fmt.Sprintf("pipeline error: '%s' for series: '%s'.\n"+
		"Skip such entries with a label filter, e.g. | __error__!=\"%s\", or all failed ones with | __error__=\"\"; "+
		"after unwrap the filter goes after it, e.g. | unwrap latency | __error__=\"\"",
		e.ErrorType, e.Series.String(), e.ErrorType)
}

// SeriesLimitError is a metric query that would return more series than Options.MaxSeries.
type SeriesLimitError struct {
	Limit int
}

func (e *SeriesLimitError) Error() string {
	return fmt.Sprintf("maximum of series (%d) reached for a single query", e.Limit)
}

// checkErrorLabel fails for a series that carries __error__, unless __preserve_error__ asks to
// keep it (Loki's escape hatch).
func checkErrorLabel(ls labels.Labels) error {
	if v := ls.Get("__error__"); v != "" && ls.Get("__preserve_error__") != "true" {
		return &PipelineError{ErrorType: v, Series: ls}
	}
	return nil
}

// userError is an evaluation failure that is the query's fault (such as many-to-many matching
// in a binary operation). It keeps Loki's message and matches ErrBadParams with errors.Is, so
// the API answers it with 400.
type userError struct{ msg string }

func (e *userError) Error() string        { return e.msg }
func (e *userError) Is(target error) bool { return target == ErrBadParams }

func userErrorf(format string, args ...any) error {
	return &userError{msg: fmt.Sprintf(format, args...)}
}
