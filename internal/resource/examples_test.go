package resource

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"
)

// TestExamples: every manifest under examples/ decodes strictly and
// validates without an error, so the documented examples stay runnable.
func TestExamples(t *testing.T) {
	files, err := filepath.Glob(filepath.Join("..", "..", "examples", "*.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	if len(files) == 0 {
		t.Fatal("no examples found")
	}
	for _, f := range files {
		t.Run(filepath.Base(f), func(t *testing.T) {
			b, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			objs, err := DecodeAll(bytes.NewReader(b), f)
			if err != nil {
				t.Fatal(err)
			}
			for _, o := range objs {
				if ps := Validate(o).Errors(); len(ps) > 0 {
					t.Errorf("%s: %s", Ref(o), ps.Join())
				}
			}
		})
	}
}
