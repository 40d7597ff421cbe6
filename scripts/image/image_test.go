package main

import (
	"archive/tar"
	"bufio"
	"bytes"
	"context"
	"debug/elf"
	"errors"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/layout"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
)

// imageEnv names the image tarball to test; `make image-test` sets it after `make image`.
const imageEnv = "CUSTOMER_API_IMAGE"

// TestImageRunsFromItsOwnFileSystem unpacks the image's layers and runs the binary from them:
// it is static, so no chroot is needed to prove it needs nothing else.
func TestImageRunsFromItsOwnFileSystem(t *testing.T) {
	path := os.Getenv(imageEnv)
	if path == "" {
		t.Skipf("set %s to an image tarball (make image-test does)", imageEnv)
	}
	img, err := tarball.ImageFromPath(path, nil)
	if err != nil {
		t.Fatal(err)
	}
	cfg, err := img.ConfigFile()
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Config.User != "65532:65532" {
		t.Errorf("User = %q, want 65532:65532 (not root)", cfg.Config.User)
	}
	if len(cfg.Config.Entrypoint) != 1 || cfg.Config.Entrypoint[0] != binaryPath {
		t.Errorf("Entrypoint = %q, want [%s]", cfg.Config.Entrypoint, binaryPath)
	}
	if hc := cfg.Config.Healthcheck; hc == nil || strings.Join(hc.Test, " ") != "CMD "+binaryPath+" healthcheck" || hc.Interval == 0 || hc.Timeout == 0 {
		t.Errorf("Healthcheck = %+v, want the binary's healthcheck, with an interval and a timeout", hc)
	}
	if cfg.OS != "linux" || cfg.Architecture != runtime.GOARCH {
		t.Errorf("the tarball's image is for %s/%s, want this machine's linux/%s", cfg.OS, cfg.Architecture, runtime.GOARCH)
	}

	root := t.TempDir()
	unpack(t, mutate.Extract(img), root)
	for _, p := range []string{"etc/ssl/certs/ca-certificates.crt", "etc/passwd"} {
		if info, err := os.Stat(filepath.Join(root, p)); err != nil || info.Size() == 0 {
			t.Errorf("/%s: %v", p, err)
		}
	}
	for _, shell := range []string{"bin/sh", "bin/bash", "bin/busybox", "usr/bin/sh"} {
		if _, err := os.Lstat(filepath.Join(root, shell)); !errors.Is(err, os.ErrNotExist) {
			t.Errorf("the image has /%s; it must have no shell", shell)
		}
	}
	if passwd, _ := os.ReadFile(filepath.Join(root, "etc/passwd")); !strings.Contains(string(passwd), ":65532:65532:") {
		t.Errorf("/etc/passwd does not name uid 65532:\n%s", passwd)
	}
	binary := filepath.Join(root, binaryPath)

	t.Run("version", func(t *testing.T) {
		out, err := exec.Command(binary, "version").CombinedOutput()
		if err != nil || !regexp.MustCompile(`^customer-api \S+ \(revision \S+, go\d`).Match(out) {
			t.Fatalf("version: %v\n%s", err, out)
		}
	})

	t.Run("serve --dev answers /healthz", func(t *testing.T) {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
		defer cancel()
		cmd := exec.CommandContext(ctx, binary, "serve", "--dev", "--demo", "--addr", "127.0.0.1:0",
			"--metrics-addr", "off", "--data-dir", t.TempDir())
		cmd.Env = []string{} // nothing of the test's environment
		cmd.Stderr = io.Discard
		stdout, err := cmd.StdoutPipe()
		if err != nil {
			t.Fatal(err)
		}
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		defer func() {
			_ = cmd.Process.Signal(syscall.SIGTERM)
			if err := cmd.Wait(); err != nil {
				t.Errorf("serve did not stop cleanly on SIGTERM: %v", err)
			}
		}()
		listening := regexp.MustCompile(`^customer-api listening on (http://[^/]+)`)
		var base string
		scanner := bufio.NewScanner(stdout)
		for base == "" && scanner.Scan() {
			if m := listening.FindStringSubmatch(scanner.Text()); m != nil {
				base = m[1]
			}
		}
		go func() { _, _ = io.Copy(io.Discard, stdout) }()
		if base == "" {
			t.Fatal("serve printed no address")
		}
		resp, err := http.Get(base + "/healthz")
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK || !strings.Contains(string(body), `"ok"`) {
			t.Errorf("/healthz: %d %s", resp.StatusCode, body)
		}
		// The image's HEALTHCHECK, with the environment the image gives it.
		check := exec.Command(binary, cfg.Config.Healthcheck.Test[2:]...)
		check.Env = append(slices.Clone(cfg.Config.Env), "CUSTOMER_API_ADDR="+strings.TrimPrefix(base, "http://"))
		if out, err := check.CombinedOutput(); err != nil {
			t.Errorf("healthcheck: %v\n%s", err, out)
		}
	})
}

// TestImageIndexHasEveryPlatform checks the OCI layout of `make image`: one index whose
// manifests are the platforms of CUSTOMER_API_IMAGE_PLATFORMS, each with a config and a binary
// for that platform.
func TestImageIndexHasEveryPlatform(t *testing.T) {
	dir, want := os.Getenv("CUSTOMER_API_IMAGE_OCI"), strings.Fields(os.Getenv("CUSTOMER_API_IMAGE_PLATFORMS"))
	if dir == "" || len(want) == 0 {
		t.Skip("set CUSTOMER_API_IMAGE_OCI and CUSTOMER_API_IMAGE_PLATFORMS (make image-test does)")
	}
	p, err := layout.FromPath(dir)
	if err != nil {
		t.Fatal(err)
	}
	root, err := p.ImageIndex()
	if err != nil {
		t.Fatal(err)
	}
	rootManifest, err := root.IndexManifest()
	if err != nil || len(rootManifest.Manifests) != 1 {
		t.Fatalf("the layout holds %+v (%v), want one index", rootManifest, err)
	}
	index, err := root.ImageIndex(rootManifest.Manifests[0].Digest)
	if err != nil {
		t.Fatal(err)
	}
	manifest, err := index.IndexManifest()
	if err != nil {
		t.Fatal(err)
	}
	machines := map[string]elf.Machine{"amd64": elf.EM_X86_64, "arm64": elf.EM_AARCH64}
	var got []string
	for _, m := range manifest.Manifests {
		if m.Platform == nil {
			t.Errorf("manifest %s names no platform", m.Digest)
			continue
		}
		got = append(got, m.Platform.String())
		img, err := index.Image(m.Digest)
		if err != nil {
			t.Fatal(err)
		}
		cfg, err := img.ConfigFile()
		if err != nil {
			t.Fatal(err)
		}
		if cfg.OS != m.Platform.OS || cfg.Architecture != m.Platform.Architecture {
			t.Errorf("%s: the config says %s/%s", m.Platform, cfg.OS, cfg.Architecture)
		}
		if machine := binaryMachine(t, img); machine != machines[m.Platform.Architecture] {
			t.Errorf("%s: the binary is for %s", m.Platform, machine)
		}
	}
	slices.Sort(got)
	slices.Sort(want)
	if !slices.Equal(got, want) {
		t.Errorf("the index has platforms %q, want %q", got, want)
	}
}

// binaryMachine returns the ELF machine of the image's binary.
func binaryMachine(t *testing.T, img v1.Image) elf.Machine {
	t.Helper()
	rc := mutate.Extract(img)
	defer rc.Close()
	tr := tar.NewReader(rc)
	for {
		h, err := tr.Next()
		if err != nil {
			t.Fatalf("no %s in the image: %v", binaryPath, err)
		}
		if "/"+strings.TrimPrefix(h.Name, "/") != binaryPath {
			continue
		}
		b, err := io.ReadAll(tr)
		if err != nil {
			t.Fatal(err)
		}
		f, err := elf.NewFile(bytes.NewReader(b))
		if err != nil {
			t.Fatalf("%s: %v", binaryPath, err)
		}
		return f.Machine
	}
}

// unpack writes the files and directories of a flattened image file system under root.
func unpack(t *testing.T, rc io.ReadCloser, root string) {
	t.Helper()
	defer rc.Close()
	tr := tar.NewReader(rc)
	for {
		h, err := tr.Next()
		if errors.Is(err, io.EOF) {
			return
		}
		if err != nil {
			t.Fatal(err)
		}
		target := filepath.Join(root, filepath.Clean("/"+h.Name))
		switch h.Typeflag {
		case tar.TypeDir:
			if err := os.MkdirAll(target, 0o755); err != nil {
				t.Fatal(err)
			}
		case tar.TypeReg:
			if err := os.MkdirAll(filepath.Dir(target), 0o755); err != nil {
				t.Fatal(err)
			}
			f, err := os.OpenFile(target, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, os.FileMode(h.Mode)&0o755)
			if err != nil {
				t.Fatal(err)
			}
			if _, err := io.Copy(f, tr); err != nil {
				t.Fatal(err)
			}
			if err := f.Close(); err != nil {
				t.Fatal(err)
			}
		default:
			t.Errorf("unexpected entry %s (type %c): the layer holds files and directories only", h.Name, h.Typeflag)
		}
	}
}
