package kubernetes

import (
	"log/slog"
	"strings"

	pmodel "github.com/prometheus/common/model"
)

func ln(s string) pmodel.LabelName { return pmodel.LabelName(s) }

func indent(s string) string {
	lines := strings.Split(strings.TrimPrefix(s, "\n"), "\n")
	for i, l := range lines {
		if l != "" {
			lines[i] = "  " + l
		}
	}
	return strings.Join(lines, "\n")
}

func discard() *slog.Logger { return slog.New(slog.DiscardHandler) }
