// Command image builds the service's OCI image without a Docker daemon (go-containerregistry):
// one layer with the static binary, the build machine's CA roots, an /etc/passwd that names the
// non-root user 65532, and /data, the data directory that user owns. No shell, no package
// manager, nothing else. `make image` runs it.
//
//	go run ./scripts/image --binary bin/image/customer-api --tarball bin/customer-api-image.tar --oci bin/customer-api-oci
package main

import (
	"archive/tar"
	"bytes"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/layout"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
	"github.com/google/go-containerregistry/pkg/v1/types"
)

// The image's user: not root, the uid distroless images call nonroot.
const (
	uid = 65532
	gid = 65532
)

// Where things are in the image.
const (
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

func run(args []string) error {
	fs := flag.NewFlagSet("image", flag.ContinueOnError)
	binary := fs.String("binary", "", "the static linux binary of customer-api (CGO_ENABLED=0)")
	ca := fs.String("ca", "/etc/ssl/certs/ca-certificates.crt", "PEM bundle of CA roots to include")
	tag := fs.String("tag", "customer-api:latest", "name and tag recorded in the tarball")
	version := fs.String("version", "", "org.opencontainers.image.version label")
	revision := fs.String("revision", "", "org.opencontainers.image.revision label")
	tarPath := fs.String("tarball", "", "write the image as a tarball here (docker load, podman load)")
	ociPath := fs.String("oci", "", "write the image as an OCI image layout here (skopeo, podman: oci:DIR)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *binary == "" || *tarPath == "" && *ociPath == "" {
		return errors.New("want --binary and --tarball or --oci")
	}
	img, err := build(*binary, *ca, *version, *revision)
	if err != nil {
		return err
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
		if err := p.AppendImage(img, layout.WithAnnotations(map[string]string{"org.opencontainers.image.ref.name": *tag})); err != nil {
			return fmt.Errorf("write %s: %w", *ociPath, err)
		}
	}
	digest, err := img.Digest()
	if err != nil {
		return err
	}
	fmt.Printf("built %s (%s)\n", *tag, digest)
	return nil
}

// build returns the image: one layer on nothing, run as uid 65532.
func build(binary, ca, version, revision string) (v1.Image, error) {
	bin, err := os.ReadFile(binary)
	if err != nil {
		return nil, err
	}
	roots, err := os.ReadFile(ca)
	if err != nil {
		return nil, fmt.Errorf("CA roots: %w", err)
	}
	files, err := layerTar(bin, roots)
	if err != nil {
		return nil, err
	}
	layer, err := tarball.LayerFromOpener(func() (io.ReadCloser, error) {
		return io.NopCloser(bytes.NewReader(files)), nil
	}, tarball.WithMediaType(types.OCILayer))
	if err != nil {
		return nil, err
	}
	base := mutate.MediaType(empty.Image, types.OCIManifestSchema1)
	base = mutate.ConfigMediaType(base, types.OCIConfigJSON)
	img, err := mutate.AppendLayers(base, layer)
	if err != nil {
		return nil, err
	}
	cfg, err := img.ConfigFile()
	if err != nil {
		return nil, err
	}
	cfg = cfg.DeepCopy()
	cfg.Architecture, cfg.OS = "amd64", "linux"
	cfg.Config.User = fmt.Sprintf("%d:%d", uid, gid)
	cfg.Config.Entrypoint = []string{binaryPath}
	cfg.Config.Cmd = []string{"serve"}
	cfg.Config.WorkingDir = dataDir
	// Listen on every interface of the container; keep the data in the volume.
	cfg.Config.Env = []string{"CUSTOMER_API_ADDR=:8080", "CUSTOMER_API_DATA_DIR=" + dataDir, "SSL_CERT_FILE=" + caPath}
	cfg.Config.ExposedPorts = map[string]struct{}{"8080/tcp": {}}
	cfg.Config.Volumes = map[string]struct{}{dataDir: {}}
	cfg.Config.Labels = map[string]string{
		"org.opencontainers.image.title":    "customer-api",
		"org.opencontainers.image.version":  version,
		"org.opencontainers.image.revision": revision,
		"org.opencontainers.image.source":   "https://github.com/cyrexa/customer-api",
	}
	img, err = mutate.ConfigFile(img, cfg)
	if err != nil {
		return nil, err
	}
	// A fixed time keeps the image the same for the same binary.
	return mutate.CreatedAt(img, v1.Time{Time: time.Unix(0, 0).UTC()})
}

// layerTar is the image's file system as a tar.
func layerTar(binary, roots []byte) ([]byte, error) {
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	epoch := time.Unix(0, 0)
	dir := func(name string, mode int64, owner int) error {
		return tw.WriteHeader(&tar.Header{Typeflag: tar.TypeDir, Name: name + "/", Mode: mode, Uid: owner, Gid: owner, ModTime: epoch})
	}
	file := func(name string, mode int64, data []byte) error {
		if err := tw.WriteHeader(&tar.Header{Typeflag: tar.TypeReg, Name: name, Mode: mode, Size: int64(len(data)), ModTime: epoch}); err != nil {
			return err
		}
		_, err := tw.Write(data)
		return err
	}
	passwd := fmt.Sprintf("root:x:0:0:root:/root:/sbin/nologin\nnonroot:x:%d:%d:nonroot:/home/nonroot:/sbin/nologin\n", uid, gid)
	group := fmt.Sprintf("root:x:0:\nnonroot:x:%d:\n", gid)
	steps := []func() error{
		func() error { return dir("etc", 0o755, 0) },
		func() error { return file("etc/passwd", 0o644, []byte(passwd)) },
		func() error { return file("etc/group", 0o644, []byte(group)) },
		func() error { return dir("etc/ssl", 0o755, 0) },
		func() error { return dir("etc/ssl/certs", 0o755, 0) },
		func() error { return file(caPath[1:], 0o644, roots) },
		func() error { return dir("home", 0o755, 0) },
		func() error { return dir("home/nonroot", 0o700, uid) },
		func() error { return dir("tmp", 0o1777, 0) },
		func() error { return dir(dataDir[1:], 0o700, uid) },
		func() error { return file(binaryPath[1:], 0o755, binary) },
	}
	for _, step := range steps {
		if err := step(); err != nil {
			return nil, err
		}
	}
	if err := tw.Close(); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}
