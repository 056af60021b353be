// Package stages runs promtail's pipeline_stages over log entries.
//
// Build parses a scrape config's pipeline_stages (promtail's YAML syntax: a list of one-key
// maps such as `- cri: {}` or `- regex: {expression: ...}`) into a Template; Template.New
// gives each file its own Pipeline, so that stages with state (cri partial lines, multiline)
// never mix two files, while counters of the metrics stage and the limit stage's rate are
// shared by the whole scrape config as in promtail.
//
// A Pipeline takes one entry at a time and emits zero or more entries. Stages see the entry
// and the "extracted" map that parsing stages (regex, json, logfmt, cri, docker) fill and
// later stages (labels, timestamp, output, template, ...) read. An entry a stage filters out
// has its Ack dropped, so its file position still advances.
package stages
