package syntax

import "testing"

func BenchmarkParseExpr(b *testing.B) {
	q := `sum by (level) (rate({app="api", env=~"prod|staging"} |= "error" != "timeout" | json | status >= 500 and took > 250ms | line_format "{{.path}}" [5m])) / on () group_left sum(rate({app="api"}[5m]))`
	b.ReportAllocs()
	b.SetBytes(int64(len(q)))
	for i := 0; i < b.N; i++ {
		if _, err := ParseExpr(q); err != nil {
			b.Fatal(err)
		}
	}
}
