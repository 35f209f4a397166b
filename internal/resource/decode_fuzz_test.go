package resource

import (
	"bytes"
	"encoding/json"
	"errors"
	"path/filepath"
	"strings"
	"testing"

	"github.com/lambdagate/lambdagate/internal/golden"
	"github.com/rogpeppe/go-internal/txtar"
)

// FuzzDecodeAll feeds arbitrary bytes to DecodeAll, which reads manifests
// from users and from the network API. It must never panic; every object
// it returns must marshal and decode again to the same JSON (the store
// round-trips them), validate without panicking, and every message it or
// Validate produces must say something.
func FuzzDecodeAll(f *testing.F) {
	files, _ := filepath.Glob(filepath.Join("testdata", "decode", "*.txtar"))
	for _, file := range files {
		ar, err := txtar.ParseFile(file)
		if err != nil {
			f.Fatal(err)
		}
		if in, ok := golden.Section(ar, "input.yaml"); ok {
			f.Add(in)
		}
	}
	f.Add([]byte("---\n---\n"))
	f.Add([]byte("{}"))
	f.Add([]byte("kind: List\nitems: [{kind: List, items: [{}]}]\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		objs, err := DecodeAll(bytes.NewReader(data), "fuzz")
		if err != nil {
			if err.Error() == "" {
				t.Fatal("empty error")
			}
			var des DecodeErrors
			if errors.As(err, &des) {
				for _, de := range des {
					if len(de.Problems) == 0 {
						t.Fatalf("DecodeError without problems: %+v", de)
					}
					for _, p := range de.Problems {
						if strings.TrimSpace(p) == "" {
							t.Fatalf("empty problem in %+v", de)
						}
					}
				}
			} else if len(objs) > 0 {
				t.Fatalf("objects returned with a non-DecodeErrors error %v", err)
			}
		}
		for _, o := range objs {
			if o == nil {
				t.Fatal("nil object")
			}
			js, err := json.Marshal(o)
			if err != nil {
				t.Fatalf("marshal %s: %v", Ref(o), err)
			}
			again, err := DecodeOne(js)
			if err != nil {
				t.Fatalf("%s does not decode again: %v\n%s", Ref(o), err, js)
			}
			if js2, err := json.Marshal(again); err != nil || !bytes.Equal(js, js2) {
				t.Fatalf("%s changes when decoded again (%v):\n%s\n%s", Ref(o), err, js, js2)
			}
			if o.GetMetadata().Name == "" || o.GetMetadata().Namespace == "" {
				t.Fatalf("%s: decoded without a name or namespace", Ref(o))
			}
			for _, p := range Validate(o) {
				if strings.TrimSpace(p.Message) == "" || strings.TrimSpace(p.String()) == "" {
					t.Fatalf("%s: empty problem %+v", Ref(o), p)
				}
			}
			_ = Check(o)
			_ = DeepCopy(o)
		}
	})
}
