package deploy

import (
	"archive/tar"
	"compress/gzip"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

type descriptor struct {
	MediaType string `json:"mediaType"`
	Digest    string `json:"digest"`
	Size      int64  `json:"size"`
}

// TestImage builds the image with scripts/build-image.sh (no Docker),
// checks the OCI layout (every blob matches its digest and size), and runs
// the binary taken from the layer: it prints the chart's appVersion and
// the repository's commit.
func TestImage(t *testing.T) {
	out := filepath.Join(t.TempDir(), "image")
	if b, err := exec.Command(filepath.Join("..", "scripts", "build-image.sh"), out).CombinedOutput(); err != nil {
		t.Fatalf("scripts/build-image.sh: %v\n%s", err, b)
	}
	blob := func(d descriptor) []byte {
		t.Helper()
		b, err := os.ReadFile(filepath.Join(out, "blobs", "sha256", strings.TrimPrefix(d.Digest, "sha256:")))
		if err != nil {
			t.Fatal(err)
		}
		sum := sha256.Sum256(b)
		if "sha256:"+hex.EncodeToString(sum[:]) != d.Digest || int64(len(b)) != d.Size {
			t.Fatalf("blob %s does not match its descriptor (size %d, want %d)", d.Digest, len(b), d.Size)
		}
		return b
	}
	var index struct{ Manifests []descriptor }
	readJSON(t, filepath.Join(out, "index.json"), &index)
	if len(index.Manifests) != 1 {
		t.Fatalf("index: %+v", index)
	}
	var manifest struct {
		Config descriptor
		Layers []descriptor
	}
	if err := json.Unmarshal(blob(index.Manifests[0]), &manifest); err != nil {
		t.Fatal(err)
	}
	var config struct {
		Config struct {
			User       string
			Entrypoint []string
		}
		Rootfs struct {
			DiffIDs []string `json:"diff_ids"`
		}
	}
	if err := json.Unmarshal(blob(manifest.Config), &config); err != nil {
		t.Fatal(err)
	}
	if config.Config.User != "65532:65532" || strings.Join(config.Config.Entrypoint, " ") != "/lambdagate" {
		t.Errorf("config: %+v", config.Config)
	}
	if len(manifest.Layers) != 1 || len(config.Rootfs.DiffIDs) != 1 {
		t.Fatalf("layers: %+v, diff ids %v", manifest.Layers, config.Rootfs.DiffIDs)
	}
	zr, err := gzip.NewReader(strings.NewReader(string(blob(manifest.Layers[0]))))
	if err != nil {
		t.Fatal(err)
	}
	rootfs := t.TempDir()
	h := sha256.New()
	layer := io.TeeReader(zr, h)
	tr := tar.NewReader(layer)
	files := map[string]int64{}
	for {
		hdr, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		name := strings.TrimPrefix(hdr.Name, "./")
		files[name] = hdr.Mode
		if hdr.Typeflag == tar.TypeReg {
			p := filepath.Join(rootfs, name)
			_ = os.MkdirAll(filepath.Dir(p), 0o755)
			b, _ := io.ReadAll(tr)
			if err := os.WriteFile(p, b, os.FileMode(hdr.Mode)); err != nil {
				t.Fatal(err)
			}
		}
	}
	_, _ = io.Copy(io.Discard, layer) // the end-of-archive blocks

	if got := "sha256:" + hex.EncodeToString(h.Sum(nil)); got != config.Rootfs.DiffIDs[0] {
		t.Errorf("layer diff id %s, config says %s", got, config.Rootfs.DiffIDs[0])
	}
	for _, f := range []string{"lambdagate", "etc/ssl/certs/ca-certificates.crt", "etc/passwd", "etc/group"} {
		if _, ok := files[f]; !ok {
			t.Errorf("the layer has no %s: %v", f, files)
		}
	}
	if files["lambdagate"]&0o111 == 0 {
		t.Errorf("/lambdagate is not executable: %o", files["lambdagate"])
	}
	got, err := exec.Command(filepath.Join(rootfs, "lambdagate"), "version").Output()
	if err != nil {
		t.Fatalf("running the image's binary: %v", err)
	}
	head, _ := exec.Command("git", "rev-parse", "HEAD").Output()
	if !strings.Contains(string(got), "lambdagate 0.1.0") || !strings.Contains(string(got), "commit: "+strings.TrimSpace(string(head))) {
		t.Errorf("lambdagate version in the image:\n%s\nwant version 0.1.0 and commit %s", got, head)
	}
}

func readJSON(t *testing.T, path string, v any) {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, v); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
}
