package pattern

import "testing"

func TestJSONMessage(t *testing.T) {
	var cfg Config
	cfg.defaults()
	fields := cfg.JSONFields
	check := func(line, want string, wantOK bool) {
		t.Helper()
		got, ok := jsonMessage(line, fields)
		if got != want || ok != wantOK {
			t.Errorf("jsonMessage(%s) = %q, %v; want %q, %v", line, got, ok, want, wantOK)
		}
	}
	check(`{"ts":"2026-11-22T10:00:00Z","level":"info","msg":"item added to cart","user_id":42}`, "item added to cart", true)
	// The first present field of the list wins, wherever it is in the line.
	check(`{"msg":"second choice","content":"last","log":"first choice"}`, "first choice", true)
	check(`{"_msg":"from _msg","message":"from message"}`, "from message", true)
	// Escapes are kept as written, as Loki tokenizes them.
	check(`{"msg":"say \"hi\"\n"}`, `say \"hi\"\n`, true)
	check(` { "msg" : "spaced out" } `, "spaced out", true)
	// Only strings count, and only a field's first occurrence.
	check(`{"msg":42,"message":{"a":"b"},"log":["x"]}`, "", false)
	check(`{"msg":42,"msg":"later"}`, "", false)
	check(`{"msg":12,"content":"the content"}`, "the content", true)
	// Members of nested objects and arrays are not the message.
	check(`{"data":{"msg":"nested"},"items":[{"message":"in array"}],"level":"info"}`, "", false)
	check(`{"level":"info","items":3}`, "", false)
	check(`{"m\u0073g":"escaped key"}`, "escaped key", true)
	// A syntax error ends the search with what was found before it.
	check(`{"msg":"kept","log":"cut short`, "kept", true)
	check(`{"msg":"kept" "log":"after a missing comma"}`, "kept", true)
	check(`{"msg":"unterminated`, "", false)
	check(`not json at all "msg":"x"`, "", false)
	check(``, "", false)
}
