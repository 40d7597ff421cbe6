// Command image builds the service's OCI image without a Docker daemon (go-containerregistry):
// one layer with the static binary, CA roots, a non-root user (65532) and its /data; no shell.
// With a binary per platform, the OCI layout holds a multi-platform index and the tarball (for
// docker load) the image of --tarball-platform. `make image` runs it.
package main

import (
	"archive/tar"
	"bytes"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"runtime"
	"strings"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/layout"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
	"github.com/google/go-containerregistry/pkg/v1/types"
)

// The image's user (the uid distroless images call nonroot) and where things are in the image.
const (
	uid, gid   = 65532, 65532
	binaryPath = "/customer-api"
	caPath     = "/etc/ssl/certs/ca-certificates.crt"
	dataDir    = "/data"
)

func main() {
	if err := run(os.Args[1:]); err != nil {
		fmt.Fprintln(os.Stderr, "image:", err)
		os.Exit(1)
	}
}

// platformBinary is the binary of one platform.
type platformBinary struct {
	platform v1.Platform
	path     string
}

func run(args []string) error {
	fs := flag.NewFlagSet("image", flag.ContinueOnError)
	var binaries []platformBinary
	fs.Func("binary", "OS/ARCH=PATH: the static binary of customer-api for a platform (CGO_ENABLED=0); repeat it for each; a bare PATH is linux/amd64", func(v string) error {
		platform, path, ok := strings.Cut(v, "=")
		if !ok {
			platform, path = "linux/amd64", v
		}
		p, err := v1.ParsePlatform(platform)
		if err != nil {
			return err
		}
		binaries = append(binaries, platformBinary{*p, path})
		return nil
	})
	tarballPlatform := fs.String("tarball-platform", "linux/"+runtime.GOARCH, "the platform whose image the tarball holds (docker load takes one)")
	ca := fs.String("ca", "/etc/ssl/certs/ca-certificates.crt", "PEM bundle of CA roots to include")
	tag := fs.String("tag", "customer-api:latest", "name and tag recorded in the tarball")
	version := fs.String("version", "", "org.opencontainers.image.version label")
	revision := fs.String("revision", "", "org.opencontainers.image.revision label")
	tarPath := fs.String("tarball", "", "write the image as a tarball here (docker load, podman load)")
	ociPath := fs.String("oci", "", "write the image as an OCI image layout here (skopeo, podman: oci:DIR)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if len(binaries) == 0 || *tarPath == "" && *ociPath == "" {
		return errors.New("want --binary and --tarball or --oci")
	}
	var (
		index = mutate.IndexMediaType(empty.Index, types.OCIImageIndex)
		img   v1.Image // the tarball's
		held  string   // its platform
	)
	for _, b := range binaries {
		platformImg, err := build(b.path, b.platform, *ca, *version, *revision)
		if err != nil {
			return fmt.Errorf("%s: %w", b.platform, err)
		}
		index = mutate.AppendManifests(index, mutate.IndexAddendum{Add: platformImg, Descriptor: v1.Descriptor{Platform: &b.platform}})
		if b.platform.String() == *tarballPlatform || len(binaries) == 1 {
			img, held = platformImg, b.platform.String()
		}
	}
	if img == nil {
		return fmt.Errorf("--tarball-platform %s: no --binary for it", *tarballPlatform)
	}
	if *tarPath != "" {
		ref, err := name.NewTag(*tag)
		if err != nil {
			return fmt.Errorf("--tag: %w", err)
		}
		if err := tarball.WriteToFile(*tarPath, ref, img); err != nil {
			return fmt.Errorf("write %s: %w", *tarPath, err)
		}
	}
	if *ociPath != "" {
		if err := os.RemoveAll(*ociPath); err != nil {
			return err
		}
		p, err := layout.Write(*ociPath, empty.Index)
		if err != nil {
			return fmt.Errorf("write %s: %w", *ociPath, err)
		}
		if err := p.AppendIndex(index, layout.WithAnnotations(map[string]string{"org.opencontainers.image.ref.name": *tag})); err != nil {
			return fmt.Errorf("write %s: %w", *ociPath, err)
		}
	}
	digest, err := index.Digest()
	if err != nil {
		return err
	}
	fmt.Printf("built %s (%s), platforms:", *tag, digest)
	for _, b := range binaries {
		fmt.Printf(" %s", b.platform)
	}
	fmt.Printf("; the tarball holds %s\n", held)
	return nil
}

// build returns the image of one platform: one layer on nothing, run as uid 65532.
func build(binary string, platform v1.Platform, ca, version, revision string) (v1.Image, error) {
	bin, err := os.ReadFile(binary)
	if err != nil {
		return nil, err
	}
	roots, err := os.ReadFile(ca)
	if err != nil {
		return nil, fmt.Errorf("CA roots: %w", err)
	}
	files := layerTar(bin, roots)
	layer, err := tarball.LayerFromOpener(func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(files)), nil },
		tarball.WithMediaType(types.OCILayer))
	if err != nil {
		return nil, err
	}
	// The image runs as uid 65532, listens on every interface of the container and keeps the
	// data in the volume; a fixed time keeps the image the same for the same binary.
	cfg := &v1.ConfigFile{Architecture: platform.Architecture, OS: platform.OS, Variant: platform.Variant,
		Created: v1.Time{Time: time.Unix(0, 0).UTC()}, RootFS: v1.RootFS{Type: "layers"}, Config: v1.Config{
			User:         fmt.Sprintf("%d:%d", uid, gid),
			Entrypoint:   []string{binaryPath},
			Cmd:          []string{"serve"},
			WorkingDir:   dataDir,
			Env:          []string{"CUSTOMER_API_ADDR=:8080", "CUSTOMER_API_DATA_DIR=" + dataDir, "SSL_CERT_FILE=" + caPath},
			ExposedPorts: map[string]struct{}{"8080/tcp": {}},
			// The image has no shell or curl: the binary asks the server of CUSTOMER_API_ADDR for /readyz.
			Healthcheck: &v1.HealthConfig{Test: []string{"CMD", binaryPath, "healthcheck"},
				Interval: 30 * time.Second, Timeout: 5 * time.Second, StartPeriod: 30 * time.Second, Retries: 3},
			Volumes: map[string]struct{}{dataDir: {}},
			Labels: map[string]string{
				"org.opencontainers.image.title":    "customer-api",
				"org.opencontainers.image.version":  version,
				"org.opencontainers.image.revision": revision,
				"org.opencontainers.image.source":   "https://github.com/cyrexa/customer-api",
			},
		}}
	base, err := mutate.ConfigFile(mutate.ConfigMediaType(mutate.MediaType(empty.Image, types.OCIManifestSchema1), types.OCIConfigJSON), cfg)
	if err != nil {
		return nil, err
	}
	return mutate.AppendLayers(base, layer)
}

// layerTar is the image's file system as a tar; a name ending in / is a directory. The headers
// are valid and the sizes right, and a bytes.Buffer takes every write: nothing can fail.
func layerTar(binary, roots []byte) []byte {
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	for _, e := range []struct {
		name  string
		mode  int64
		owner int
		data  []byte
	}{
		{"etc/", 0o755, 0, nil},
		{"etc/passwd", 0o644, 0, fmt.Appendf(nil, "root:x:0:0:root:/root:/sbin/nologin\nnonroot:x:%d:%d:nonroot:/home/nonroot:/sbin/nologin\n", uid, gid)},
		{"etc/group", 0o644, 0, fmt.Appendf(nil, "root:x:0:\nnonroot:x:%d:\n", gid)},
		{"etc/ssl/", 0o755, 0, nil},
		{"etc/ssl/certs/", 0o755, 0, nil},
		{caPath[1:], 0o644, 0, roots},
		{"home/", 0o755, 0, nil},
		{"home/nonroot/", 0o700, uid, nil},
		{"tmp/", 0o1777, 0, nil},
		{dataDir[1:] + "/", 0o700, uid, nil},
		{binaryPath[1:], 0o755, 0, binary},
	} {
		h := &tar.Header{Typeflag: tar.TypeReg, Name: e.name, Mode: e.mode, Uid: e.owner, Gid: e.owner, Size: int64(len(e.data)), ModTime: time.Unix(0, 0)}
		if strings.HasSuffix(e.name, "/") {
			h.Typeflag = tar.TypeDir
		}
		_ = tw.WriteHeader(h)
		_, _ = tw.Write(e.data)
	}
	_ = tw.Close()
	return buf.Bytes()
}
