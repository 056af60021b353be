package otlp_test

import (
	"testing"

	"github.com/sluicelog/sluice/pkg/push/otlp"
)

// TestUnmarshalProtoAllocs checks that decoding into a reused Logs allocates nothing: strings
// alias the body and the slices keep their capacity.
func TestUnmarshalProtoAllocs(t *testing.T) {
	body := realisticRequest(t, 64<<10)
	var l otlp.Logs
	allocs := testing.AllocsPerRun(20, func() {
		if err := otlp.UnmarshalProto(body, &l); err != nil {
			t.Fatal(err)
		}
	})
	if allocs > 0 {
		t.Errorf("UnmarshalProto into a reused Logs allocates %.1f times, want 0", allocs)
	}
}
