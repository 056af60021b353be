// Package build holds the version information stamped into binaries at link time.
package build

import "runtime"

// Set with -ldflags "-X github.com/sluicelog/sluice/pkg/build.Version=..." by the Makefile.
var (
	Version   = "dev"
	Revision  = "unknown"
	Branch    = "main"
	BuildUser = ""
	BuildDate = ""
)

// Info is Loki's /loki/api/v1/status/buildinfo body.
type Info struct {
	Version   string `json:"version"`
	Revision  string `json:"revision"`
	Branch    string `json:"branch"`
	BuildUser string `json:"buildUser"`
	BuildDate string `json:"buildDate"`
	GoVersion string `json:"goVersion"`
}

// Get returns the build information of this binary.
func Get() Info {
	return Info{Version: Version, Revision: Revision, Branch: Branch, BuildUser: BuildUser, BuildDate: BuildDate, GoVersion: runtime.Version()}
}
