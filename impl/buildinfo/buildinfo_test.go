package buildinfo

import (
	"runtime/debug"
	"testing"
)

func TestFromBuildInfoTakesVersionRevisionAndModified(t *testing.T) {
	bi := &debug.BuildInfo{
		GoVersion: "go1.26.0",
		Main:      debug.Module{Path: "github.com/cyrexa/customer-api", Version: "v1.2.0"},
		Settings: []debug.BuildSetting{
			{Key: "vcs.revision", Value: "0123abcd"},
			{Key: "vcs.modified", Value: "true"},
			{Key: "vcs.time", Value: "2026-11-30T00:00:00Z"},
		},
	}
	got := fromBuildInfo(bi, Info{Version: "(devel)", Revision: "unknown"})
	want := Info{Version: "v1.2.0", Revision: "0123abcd", Modified: true, GoVersion: "go1.26.0"}
	if got != want {
		t.Fatalf("got %+v, want %+v", got, want)
	}
	if s := got.String(); s != "v1.2.0 (revision 0123abcd+modified, go1.26.0)" {
		t.Errorf("String() = %q", s)
	}
}

func TestReadWithoutVCSStampingSaysUnknown(t *testing.T) {
	// go test builds without VCS information.
	if got := Read(); got.Revision == "" || got.Version == "" || got.GoVersion == "" {
		t.Fatalf("Read() = %+v: every field must say something", got)
	}
}

func TestStampedSaysWhetherTheRevisionIsKnown(t *testing.T) {
	if (Info{Revision: "unknown"}).Stamped() || !(Info{Revision: "0123abcd"}).Stamped() {
		t.Error("Stamped must be false for an unknown revision only")
	}
}
