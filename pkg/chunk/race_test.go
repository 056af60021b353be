//go:build race

package chunk

// raceEnabled is true under the race detector, whose sync.Pool drops items at random, so
// pooled buffers are sometimes rebuilt.
const raceEnabled = true
