package reliability

import (
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestImportIntoFullOrReadOnlyLocation (SQLite) serves an organization from a database on a
// small tmpfs, then imports a changed version of it (a) with the file system full and (b) through
// a read-only bind mount of the same directory. Each import must fail with a message that says
// why, write nothing (the organization's ETag and body are unchanged), and reads, from four
// clients all along, go on answering 200. It needs root (mount); chmod alone does not stop root.
func TestImportIntoFullOrReadOnlyLocation(t *testing.T) {
	requireSuite(t)
	if os.Geteuid() != 0 {
		t.Skip("needs root to mount a small tmpfs and a read-only bind mount")
	}
	fsDir := filepath.Join(t.TempDir(), "fs")
	if err := os.Mkdir(fsDir, 0o700); err != nil {
		t.Fatal(err)
	}
	mount(t, fsDir, "-t", "tmpfs", "-o", "size=32m,mode=0700", "tmpfs", fsDir)

	s := startServer(t, serverConfig{DataDir: fsDir})
	c := s.credentials(t, "tenant-disk")
	const org = "org-disk"
	files := t.TempDir()
	s.importFile(t, c.Tenant, org, writeOrg(t, files, org, 100, ""))
	small := &target{Creds: c, Org: org, Size: 100}
	// The changed version: the 100 customers, changed, and 3 000 more (about 14 MB).
	changed := writeOrg(t, files, org, 3100, "v2")
	before := mustFetch(t, s, small)

	load := startLoad(t.Context(), s.Base, loadSpec{Workers: 4, Duration: 5 * time.Minute, MaxRequests: 100_000, Targets: []*target{small}})
	defer load.Stop()
	waitFor(t, time.Minute, "reads before the imports", func() bool { return load.count() >= 20 })

	unchanged := func(t *testing.T) {
		t.Helper()
		now := mustFetch(t, s, small)
		if now.ETag != before.ETag || now.Sum != before.Sum {
			t.Errorf("the failed import changed the organization: ETag %s before, %s after", before.ETag, now.ETag)
		}
	}

	t.Run("an import into a full file system fails, writes nothing, and reads go on", func(t *testing.T) {
		filler := filepath.Join(fsDir, "filler")
		fill(t, filler)
		defer os.Remove(filler)
		out, err := s.tryAdmin(t.Context(), "import", "--tenant", c.Tenant, "--organization", org, changed)
		t.Logf("import into a full file system: %v %s", err, out)
		if err == nil {
			t.Fatalf("the import succeeded on a full file system: %s", out)
		}
		if msg := strings.ToLower(err.Error()); !strings.Contains(msg, "full") && !strings.Contains(msg, "no space") {
			t.Errorf("the message does not say the disk is full: %v", err)
		}
		unchanged(t)
	})
	t.Run("an import into a read-only database fails, writes nothing, and reads go on", func(t *testing.T) {
		roDir := filepath.Join(t.TempDir(), "ro")
		if err := os.Mkdir(roDir, 0o700); err != nil {
			t.Fatal(err)
		}
		mount(t, roDir, "--bind", fsDir, roDir)
		mount(t, "", "-o", "remount,bind,ro", roDir)
		cmd := exec.CommandContext(t.Context(), binary, "import", "--tenant", c.Tenant, "--organization", org, "--data-dir", roDir, changed)
		cmd.Env = cleanEnv()
		out, err := cmd.CombinedOutput()
		t.Logf("import into a read-only database: %v %s", err, out)
		if err == nil {
			t.Fatalf("the import succeeded on a read-only mount: %s", out)
		}
		if msg := strings.ToLower(string(out)); !strings.Contains(msg, "read-only") && !strings.Contains(msg, "readonly") {
			t.Errorf("the message does not say the database is read-only: %s", out)
		}
		unchanged(t)
	})

	load.Stop()
	results := load.Wait()
	cnt := count(results)
	t.Logf("reads meanwhile: %d (%s)", len(results), cnt)
	if cnt.OK != len(results) {
		t.Errorf("reads during the failed imports: %s; first: %q", cnt, cnt.FirstFailures)
	}
}

// mount runs mount(8) with args and unmounts target (when not empty) when t ends; it skips t
// when mounting is not permitted here.
func mount(t *testing.T, target string, args ...string) {
	t.Helper()
	if out, err := exec.Command("mount", args...).CombinedOutput(); err != nil {
		t.Skipf("mount %s: %v %s (not permitted here?)", strings.Join(args, " "), err, out)
	}
	if target != "" {
		t.Cleanup(func() {
			if out, err := exec.Command("umount", target).CombinedOutput(); err != nil {
				t.Logf("umount %s: %v %s; detaching it", target, err, out)
				exec.Command("umount", "-l", target).Run()
			}
		})
	}
}

// fill writes path until its file system is full.
func fill(t *testing.T, path string) {
	t.Helper()
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	chunk := make([]byte, 1<<20)
	for range 1 << 12 { // 4 GiB at most: far beyond the tmpfs
		if _, err := f.Write(chunk); err != nil {
			if !errors.Is(err, syscall.ENOSPC) {
				t.Fatalf("fill: %v", err)
			}
			// Fill the last partial block too.
			for n := 512; n >= 1; n /= 2 {
				for {
					if _, err := f.Write(chunk[:n]); err != nil {
						break
					}
				}
			}
			return
		}
	}
	t.Fatal("fill: the file system never filled")
}
