package syslog

import (
	"strconv"
	"strings"
	"time"

	gosyslog "github.com/leodido/go-syslog/v4"
	"github.com/leodido/go-syslog/v4/rfc3164"
	"github.com/leodido/go-syslog/v4/rfc5424"
	"github.com/prometheus/prometheus/model/labels"
)

// Label names set on every message.
const (
	LabelConnectionIP       = "__syslog_connection_ip_address"
	LabelConnectionHostname = "__syslog_connection_hostname"
	LabelSeverity           = "__syslog_message_severity"
	LabelFacility           = "__syslog_message_facility"
	LabelHostname           = "__syslog_message_hostname"
	LabelAppName            = "__syslog_message_app_name"
	LabelProcID             = "__syslog_message_proc_id"
	LabelMsgID              = "__syslog_message_msg_id"
	// LabelSDPrefix starts the label of a structured data parameter: prefix + id + "_" + name.
	LabelSDPrefix = "__syslog_message_sd_"
)

// fields is what a parsed message contributes to an entry.
type fields struct {
	line string
	ts   *time.Time
}

// describe sets msg's labels on b and returns its line and timestamp; ok is false for a
// message without a MSG part.
func (t *Target) describe(msg gosyslog.Message, b *labels.Builder) (f fields, ok bool) {
	switch m := msg.(type) {
	case *rfc5424.SyslogMessage:
		if m.Message == nil {
			return f, false
		}
		setBase(b, &m.Base)
		if v := m.MsgID; v != nil {
			b.Set(LabelMsgID, *v)
		}
		if t.cfg.LabelStructuredData && m.StructuredData != nil {
			for id, params := range *m.StructuredData {
				id = strings.ReplaceAll(id, "@", "_")
				for name, value := range params {
					b.Set(LabelSDPrefix+id+"_"+name, value)
				}
			}
		}
		f.line, f.ts = *m.Message, m.Timestamp
		if t.cfg.UseRFC5424Message {
			if full, err := m.String(); err == nil {
				f.line = full
			} else {
				t.log.Debug("render rfc5424 message; sending its MSG part", "err", err)
			}
		}
		return f, true
	case *rfc3164.SyslogMessage:
		if m.Message == nil {
			return f, false
		}
		setBase(b, &m.Base)
		if v := m.MsgID; v != nil {
			b.Set(LabelMsgID, *v)
		}
		if v := m.MessageCounter; v != nil {
			b.Set("__syslog_message_msg_counter", strconv.FormatUint(uint64(*v), 10))
		}
		if v := m.Sequence; v != nil {
			b.Set("__syslog_message_sequence", strconv.FormatUint(uint64(*v), 10))
		}
		f.line, f.ts = *m.Message, m.Timestamp
		return f, true
	}
	return f, false
}

func setBase(b *labels.Builder, m *gosyslog.Base) {
	if v := m.SeverityLevel(); v != nil {
		b.Set(LabelSeverity, *v)
	}
	if v := m.FacilityLevel(); v != nil {
		b.Set(LabelFacility, *v)
	}
	if v := m.Hostname; v != nil {
		b.Set(LabelHostname, *v)
	}
	if v := m.Appname; v != nil {
		b.Set(LabelAppName, *v)
	}
	if v := m.ProcID; v != nil {
		b.Set(LabelProcID, *v)
	}
}
