package dashboard

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"testing"
)

// webDir is the front end's source directory.
var webDir = filepath.Join("..", "..", "web")

// sourcesHash hashes the dashboard's sources the way
// scripts/build-dashboard.sh does: sha256sum's lines for each file, sorted
// by path, hashed again.
func sourcesHash(t *testing.T) string {
	t.Helper()
	files := []string{"index.html", "vite.config.js", "package.json", "package-lock.json"}
	err := filepath.WalkDir(filepath.Join(webDir, "src"), func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		rel, _ := filepath.Rel(webDir, p)
		files = append(files, filepath.ToSlash(rel))
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	sort.Strings(files)
	var list bytes.Buffer
	for _, f := range files {
		b, err := os.ReadFile(filepath.Join(webDir, f))
		if err != nil {
			t.Fatal(err)
		}
		sum := sha256.Sum256(b)
		fmt.Fprintf(&list, "%s  %s\n", hex.EncodeToString(sum[:]), f)
	}
	sum := sha256.Sum256(list.Bytes())
	return hex.EncodeToString(sum[:])
}

// TestDistMatchesSources checks that the embedded build is from the current
// sources: whoever changes web/ must rebuild (make build does).
func TestDistMatchesSources(t *testing.T) {
	b, err := os.ReadFile("sources.sha256")
	if err != nil {
		t.Fatalf("reading the sources stamp: %v (run scripts/build-dashboard.sh)", err)
	}
	if got, want := strings.TrimSpace(string(b)), sourcesHash(t); got != want {
		t.Fatalf("internal/dashboard/dist was built from other sources than web/ holds (stamp %s, sources %s): run scripts/build-dashboard.sh and commit dist/", got, want)
	}
}

// TestDistIsReproducible builds the sources with the locked dependencies
// into a temporary directory and checks the result is byte for byte the
// embedded dist/.
func TestDistIsReproducible(t *testing.T) {
	vite := filepath.Join(webDir, "node_modules", "vite", "bin", "vite.js")
	if _, err := os.Stat(vite); err != nil {
		t.Fatalf("the dashboard's npm dependencies are not installed (%v): run scripts/setup.sh", err)
	}
	node, err := exec.LookPath("node")
	if err != nil {
		t.Fatalf("node not found: run scripts/setup.sh")
	}
	out := t.TempDir()
	cmd := exec.Command(node, filepath.Join("node_modules", "vite", "bin", "vite.js"), "build", "--outDir", out, "--emptyOutDir", "--logLevel", "warn")
	cmd.Dir = webDir
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("vite build: %v\n%s", err, b)
	}
	want := tree(t, os.DirFS(out))
	got := tree(t, FS())
	if len(got) != len(want) {
		t.Errorf("embedded dist has %d files, a fresh build %d:\nembedded %v\nfresh %v", len(got), len(want), keys(got), keys(want))
	}
	for name, w := range want {
		if g, ok := got[name]; !ok {
			t.Errorf("a fresh build has %s; the embedded dist does not (run scripts/build-dashboard.sh --force)", name)
		} else if g != w {
			t.Errorf("%s differs between the embedded dist and a fresh build (run scripts/build-dashboard.sh --force)", name)
		}
	}
}

func tree(t *testing.T, fsys fs.FS) map[string]string {
	t.Helper()
	m := map[string]string{}
	err := fs.WalkDir(fsys, ".", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := fs.ReadFile(fsys, p)
		if err != nil {
			return err
		}
		m[p] = string(b)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return m
}

func keys(m map[string]string) []string {
	var k []string
	for n := range m {
		k = append(k, n)
	}
	sort.Strings(k)
	return k
}
