package api

import (
	"strconv"
	"unicode/utf8"

	"github.com/prometheus/prometheus/model/labels"
)

// appendQueryResponse renders a query result as Loki does:
//
//	{"status":"success","data":{"resultType":"streams","result":[..],"stats":{..}}}
//
// It writes JSON by hand: results can hold many thousands of lines, and building them as maps
// for encoding/json would cost an allocation per value.
func appendQueryResponse(b []byte, res *QueryResult, categorize bool) []byte {
	b = append(b, `{"status":"success","data":{"resultType":"`...)
	b = append(b, res.Type...)
	b = append(b, `","result":`...)
	switch res.Type {
	case ResultStreams:
		b = appendStreams(b, res.Streams, categorize)
	case ResultMatrix:
		b = append(b, '[')
		for i, s := range res.Matrix {
			if i > 0 {
				b = append(b, ',')
			}
			b = append(b, `{"metric":`...)
			b = appendLabels(b, s.Metric)
			b = append(b, `,"values":[`...)
			for j, p := range s.Points {
				if j > 0 {
					b = append(b, ',')
				}
				b = appendPoint(b, p)
			}
			b = append(b, "]}"...)
		}
		b = append(b, ']')
	case ResultVector:
		b = append(b, '[')
		for i, s := range res.Vector {
			if i > 0 {
				b = append(b, ',')
			}
			b = append(b, `{"metric":`...)
			b = appendLabels(b, s.Metric)
			b = append(b, `,"value":`...)
			b = appendPoint(b, s.Point)
			b = append(b, '}')
		}
		b = append(b, ']')
	case ResultScalar:
		b = appendPoint(b, res.Scalar)
	default:
		b = append(b, "[]"...)
	}
	b = append(b, `,"stats":`...)
	b = appendStats(b, &res.Stats)
	if categorize && res.Type == ResultStreams {
		b = append(b, `,"encodingFlags":["categorize-labels"]`...)
	}
	return append(b, "}}\n"...)
}

func appendStreams(b []byte, streams []Stream, categorize bool) []byte {
	b = append(b, '[')
	for i, s := range streams {
		if i > 0 {
			b = append(b, ',')
		}
		b = append(b, `{"stream":`...)
		b = appendLabels(b, s.Labels)
		b = append(b, `,"values":[`...)
		for j, e := range s.Entries {
			if j > 0 {
				b = append(b, ',')
			}
			b = append(b, `["`...)
			b = strconv.AppendInt(b, e.Timestamp, 10)
			b = append(b, `",`...)
			b = appendString(b, e.Line)
			if categorize && (e.StructuredMetadata.Len() > 0 || e.Parsed.Len() > 0) {
				b = append(b, `,{`...)
				if e.StructuredMetadata.Len() > 0 {
					b = append(b, `"structuredMetadata":`...)
					b = appendLabels(b, e.StructuredMetadata)
				}
				if e.Parsed.Len() > 0 {
					if e.StructuredMetadata.Len() > 0 {
						b = append(b, ',')
					}
					b = append(b, `"parsed":`...)
					b = appendLabels(b, e.Parsed)
				}
				b = append(b, '}')
			}
			b = append(b, ']')
		}
		b = append(b, "]}"...)
	}
	return append(b, ']')
}

func appendPoint(b []byte, p Point) []byte {
	b = append(b, '[')
	b = strconv.AppendFloat(b, float64(p.T)/1000, 'f', -1, 64)
	b = append(b, `,"`...)
	b = appendFloatValue(b, p.V)
	return append(b, `"]`...)
}

// appendFloatValue formats a sample value as Prometheus does ("NaN", "+Inf", "1.5").
func appendFloatValue(b []byte, v float64) []byte {
	switch {
	case v != v:
		return append(b, "NaN"...)
	case v > 1.7976931348623157e308:
		return append(b, "+Inf"...)
	case v < -1.7976931348623157e308:
		return append(b, "-Inf"...)
	}
	return strconv.AppendFloat(b, v, 'f', -1, 64)
}

func appendLabels(b []byte, ls labels.Labels) []byte {
	b = append(b, '{')
	first := true
	ls.Range(func(l labels.Label) {
		if !first {
			b = append(b, ',')
		}
		first = false
		b = appendString(b, l.Name)
		b = append(b, ':')
		b = appendString(b, l.Value)
	})
	return append(b, '}')
}

const hexDigits = "0123456789abcdef"

// appendString appends s as a JSON string, escaping as encoding/json does without HTML escaping.
func appendString(b []byte, s string) []byte {
	b = append(b, '"')
	start := 0
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			if c >= 0x20 && c != '"' && c != '\\' {
				i++
				continue
			}
			b = append(b, s[start:i]...)
			switch c {
			case '"', '\\':
				b = append(b, '\\', c)
			case '\n':
				b = append(b, '\\', 'n')
			case '\r':
				b = append(b, '\\', 'r')
			case '\t':
				b = append(b, '\\', 't')
			default:
				b = append(b, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xf])
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			b = append(b, s[start:i]...)
			b = append(b, `\ufffd`...)
			i += size
			start = i
			continue
		}
		if r == '\u2028' || r == '\u2029' {
			b = append(b, s[start:i]...)
			b = append(b, '\\', 'u', '2', '0', '2', hexDigits[r&0xf])
			i += size
			start = i
			continue
		}
		i += size
	}
	b = append(b, s[start:]...)
	return append(b, '"')
}

func appendStats(b []byte, s *Stats) []byte {
	exec := s.ExecTime.Seconds()
	perSec := func(n int64) int64 {
		if exec <= 0 {
			return 0
		}
		return int64(float64(n) / exec)
	}
	field := func(name string, v int64) {
		b = append(b, '"')
		b = append(b, name...)
		b = append(b, `":`...)
		b = strconv.AppendInt(b, v, 10)
	}
	chunk := func(head bool) {
		b = append(b, `"chunk":{`...)
		if head {
			field("headChunkBytes", s.HeadChunkBytes)
			b = append(b, ',')
			field("headChunkLines", s.HeadChunkLines)
		} else {
			field("headChunkBytes", 0)
			b = append(b, ',')
			field("headChunkLines", 0)
		}
		b = append(b, ',')
		field("decompressedBytes", s.DecompressedBytes)
		b = append(b, ',')
		field("decompressedLines", s.DecompressedLines)
		b = append(b, ',')
		field("compressedBytes", s.CompressedBytes)
		b = append(b, ',')
		field("totalDuplicates", s.Duplicates)
		b = append(b, ',')
		field("postFilterLines", s.PostFilterLines)
		b = append(b, ',')
		field("headChunkStructuredMetadataBytes", 0)
		b = append(b, ',')
		field("decompressedStructuredMetadataBytes", 0)
		b = append(b, '}')
	}
	b = append(b, `{"summary":{`...)
	field("bytesProcessedPerSecond", perSec(s.TotalBytesProcessed))
	b = append(b, ',')
	field("linesProcessedPerSecond", perSec(s.TotalLinesProcessed))
	b = append(b, ',')
	field("totalBytesProcessed", s.TotalBytesProcessed)
	b = append(b, ',')
	field("totalLinesProcessed", s.TotalLinesProcessed)
	b = append(b, `,"execTime":`...)
	b = strconv.AppendFloat(b, exec, 'f', -1, 64)
	b = append(b, `,"queueTime":`...)
	b = strconv.AppendFloat(b, s.QueueTime.Seconds(), 'f', -1, 64)
	b = append(b, ',')
	field("subqueries", max(s.Splits, 1))
	b = append(b, ',')
	field("totalEntriesReturned", s.TotalEntriesReturned)
	b = append(b, ',')
	field("splits", s.Splits)
	b = append(b, ',')
	field("shards", s.Shards)
	b = append(b, ',')
	field("totalPostFilterLines", s.PostFilterLines)
	b = append(b, ',')
	field("totalStructuredMetadataBytesProcessed", 0)
	b = append(b, `},"querier":{"store":{`...)
	field("totalChunksRef", s.ChunksRef)
	b = append(b, ',')
	field("totalChunksDownloaded", s.ChunksDownloaded)
	b = append(b, `,"chunksDownloadTime":0,"queryReferencedStructuredMetadata":false,`...)
	chunk(false)
	b = append(b, `}},"ingester":{`...)
	field("totalReached", 1)
	b = append(b, ',')
	field("totalChunksMatched", 0)
	b = append(b, ',')
	field("totalBatches", 0)
	b = append(b, ',')
	field("totalLinesSent", 0)
	b = append(b, `,"store":{"totalChunksRef":0,"totalChunksDownloaded":0,"chunksDownloadTime":0,"queryReferencedStructuredMetadata":false,`...)
	chunk(true)
	return append(b, "}}}"...)
}
