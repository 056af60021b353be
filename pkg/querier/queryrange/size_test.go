package queryrange

import "testing"

// TestIBytes: sizes in the query size messages read as Loki writes them.
func TestIBytes(t *testing.T) {
	check := func(n uint64, want string) {
		t.Helper()
		if got := iBytes(n); got != want {
			t.Errorf("iBytes(%d) = %q, want %q", n, got, want)
		}
	}
	check(0, "0 B")
	check(9, "9 B")
	check(500, "500 B")
	check(1536, "1.5 KiB")
	check(1<<20, "1.0 MiB")
	check(49<<20, "49 MiB")
	check(150<<30, "150 GiB")
	check(10<<30-1, "10 GiB")
}
