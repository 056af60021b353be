// Package race tells a test whether the binary was built with the race detector.
//
// Under -race, sync.Pool drops items at random and the runtime allocates for its own
// bookkeeping, so allocation counts (testing.AllocsPerRun) mean nothing there. Tests that
// assert them skip under -race; `make test` runs them again in a build without it.
package race
