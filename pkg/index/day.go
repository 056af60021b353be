package index

// DayNanos is the length of one table's period: a UTC day in nanoseconds.
const DayNanos int64 = 24 * 60 * 60 * 1e9

// DayOf returns the number of the UTC day holding the Unix-ns timestamp t: whole days since the
// epoch, rounded down (so times before 1970 get negative days).
func DayOf(t int64) int64 {
	d := t / DayNanos
	if t%DayNanos < 0 {
		d--
	}
	return d
}

// DayRange returns the first and last nanosecond of day, inclusive.
func DayRange(day int64) (from, through int64) {
	from = day * DayNanos
	return from, from + DayNanos - 1
}

// overlaps reports whether the inclusive ranges [aFrom, aThrough] and [bFrom, bThrough] share a
// nanosecond.
func overlaps(aFrom, aThrough, bFrom, bThrough int64) bool {
	return aFrom <= bThrough && bFrom <= aThrough
}
