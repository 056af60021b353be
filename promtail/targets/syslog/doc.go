// Package syslog is promtail's syslog target: it listens on TCP (optionally TLS) or UDP,
// parses RFC 5424 or RFC 3164 messages with github.com/leodido/go-syslog, and hands each one
// to a targets.Receiver with the labels promtail sets:
//
//	__syslog_connection_ip_address   the sender's IP
//	__syslog_connection_hostname     its reverse DNS names, comma-separated
//	__syslog_message_severity, __syslog_message_facility, __syslog_message_hostname,
//	__syslog_message_app_name, __syslog_message_proc_id, __syslog_message_msg_id
//	__syslog_message_sd_<id>_<name>  each structured data parameter (label_structured_data;
//	                                 "@" in the SD-ID becomes "_")
//
// plus the scrape config's labels. relabel_configs see all of them; those starting with "__"
// are dropped afterwards.
//
// A TCP connection's framing is detected from its first byte as promtail does: '<' is
// non-transparent framing (one message per line), a digit is octet counting (RFC 6587).
// Each UDP datagram is parsed the same way on its own. A message that does not parse is
// counted in promtail_syslog_target_parsing_errors_total, logged at debug level, and skipped;
// the connection goes on with the next message where the framing allows it. A connection
// that sends nothing for idle_timeout is closed.
package syslog
