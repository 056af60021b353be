package logql

import (
	"github.com/prometheus/prometheus/model/labels"

	"github.com/sluicelog/sluice/pkg/logproto"
)

// Value is the result of a query: Streams, Matrix, Vector or Scalar.
type Value interface {
	// Type is Loki's resultType: "streams", "matrix", "vector" or "scalar".
	Type() string
}

// Result types, as Loki names them in data.resultType.
const (
	TypeStreams = "streams"
	TypeMatrix  = "matrix"
	TypeVector  = "vector"
	TypeScalar  = "scalar"
)

// Streams is the result of a log query: one logproto.Stream per distinct label set, sorted by
// label string, entries in the query's direction. Entry timestamps are Unix nanoseconds.
//
// Without Params.CategorizeLabels, Stream.Labels is the entry's whole label set (stream labels,
// structured metadata and parsed labels) and entries carry no StructuredMetadata or Parsed.
// With it, Stream.Labels holds the stream labels only and each entry carries its structured
// metadata and parsed labels separately.
type Streams []logproto.Stream

// Type returns "streams".
func (Streams) Type() string { return TypeStreams }

// Point is one sample of a series. T is in Unix milliseconds, as in Prometheus.
type Point struct {
	T int64
	V float64
}

// Series is one labelled series of a Matrix; points are in time order.
type Series struct {
	Metric labels.Labels
	Points []Point
}

// Matrix is the result of a metric range query, sorted by series labels.
type Matrix []Series

// Type returns "matrix".
func (Matrix) Type() string { return TypeMatrix }

// Sample is one value of a Vector. T is in Unix milliseconds.
type Sample struct {
	Metric labels.Labels
	T      int64
	V      float64
}

// Vector is the result of a metric instant query: sorted by labels, except after a top-level
// sort, sort_desc, topk or bottomk, whose order is kept.
type Vector []Sample

// Type returns "vector".
func (Vector) Type() string { return TypeVector }

// Scalar is the result of an instant query that is a number literal. T is in Unix milliseconds.
type Scalar struct {
	T int64
	V float64
}

// Type returns "scalar".
func (Scalar) Type() string { return TypeScalar }
