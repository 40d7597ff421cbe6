// Package buildinfo reads what the Go toolchain recorded in the binary: the module version, the
// VCS revision it was built from and whether the work tree had changes.
package buildinfo

import (
	"fmt"
	"runtime"
	"runtime/debug"
)

// Info identifies a build.
type Info struct {
	Version   string // module version, e.g. v1.2.0, a pseudo-version, or (devel)
	Revision  string // VCS revision (commit), or "unknown"
	Modified  bool   // the work tree had uncommitted changes
	Time      string // commit time (RFC 3339), or ""
	GoVersion string // the toolchain that built the binary
}

// revision and modified stand in for the VCS stamp when the toolchain recorded none (a git
// worktree, -buildvcs=false): the Makefile sets them with -ldflags -X from git.
var revision, modified string

// Read returns the build information of the running binary. A binary built without module
// support or VCS stamping (go test, go run, -buildvcs=false) reports "(devel)" and "unknown".
func Read() Info {
	info := Info{Version: "(devel)", Revision: "unknown", GoVersion: runtime.Version()}
	if revision != "" {
		info.Revision, info.Modified = revision, modified == "true"
	}
	bi, ok := debug.ReadBuildInfo()
	if !ok {
		return info
	}
	return fromBuildInfo(bi, info)
}

func fromBuildInfo(bi *debug.BuildInfo, info Info) Info {
	if v := bi.Main.Version; v != "" {
		info.Version = v
	}
	if bi.GoVersion != "" {
		info.GoVersion = bi.GoVersion
	}
	for _, s := range bi.Settings {
		switch s.Key {
		case "vcs.revision":
			info.Revision = s.Value
		case "vcs.modified":
			info.Modified = s.Value == "true"
		case "vcs.time":
			info.Time = s.Value
		}
	}
	return info
}

// Stamped reports whether the build recorded its VCS revision: false for go run and go test,
// whose binaries say "unknown" rather than guess.
func (i Info) Stamped() bool { return i.Revision != "unknown" && i.Revision != "" }

// String is the line `version` prints: version, revision (with "+modified"), and Go version.
func (i Info) String() string {
	rev := i.Revision
	if i.Modified {
		rev += "+modified"
	}
	return fmt.Sprintf("%s (revision %s, %s)", i.Version, rev, i.GoVersion)
}
