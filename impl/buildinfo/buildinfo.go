// Package buildinfo reads the module version and VCS revision the toolchain recorded in the
// binary: its own package because both binaries (and the server's metrics) print it.
package buildinfo

import (
	"cmp"
	"fmt"
	"runtime"
	"runtime/debug"
)

// Info identifies a build.
type Info struct {
	Version   string // module version, e.g. v1.2.0, a pseudo-version, or (devel)
	Revision  string // VCS revision (commit), or "unknown"
	Modified  bool   // the work tree had uncommitted changes
	GoVersion string // the toolchain that built the binary
}

// revision and modified stand in for a VCS stamp the toolchain did not record (a git worktree):
// the Makefile sets them with -ldflags -X.
var revision, modified string

// Read returns the running binary's build; without a stamp (go test, go run) "(devel)" and "unknown".
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
	info.Version = cmp.Or(bi.Main.Version, info.Version)
	info.GoVersion = cmp.Or(bi.GoVersion, info.GoVersion)
	for _, s := range bi.Settings {
		switch s.Key {
		case "vcs.revision":
			info.Revision = s.Value
		case "vcs.modified":
			info.Modified = s.Value == "true"
		}
	}
	return info
}

// Stamped reports whether the build recorded its VCS revision.
func (i Info) Stamped() bool { return i.Revision != "unknown" && i.Revision != "" }

// FullRevision is Revision, with "+modified" when the work tree had uncommitted changes.
func (i Info) FullRevision() string {
	if i.Modified {
		return i.Revision + "+modified"
	}
	return i.Revision
}

// String is the line `version` prints.
func (i Info) String() string {
	return fmt.Sprintf("%s (revision %s, %s)", i.Version, i.FullRevision(), i.GoVersion)
}
