package race

import "testing"

// SkipAllocs skips an allocation-counting test under the race detector, whose sync.Pool
// drops items at random. `make test` runs such tests (named *Allocs*) once more without -race.
func SkipAllocs(tb testing.TB) {
	tb.Helper()
	if Enabled {
		tb.Skip("allocation counts are only meaningful without -race; make test runs this without it")
	}
}
