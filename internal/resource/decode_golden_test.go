package resource

import (
	"bytes"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/lambdagate/lambdagate/internal/golden"

	"github.com/rogpeppe/go-internal/txtar"
)

var update = flag.Bool("update", false, "rewrite the expected section of golden files")

// TestDecodeGolden runs every testdata/decode/*.txtar case: it decodes the
// input.yaml section, validates each decoded object and compares what a user
// would read (every decode error, every problem, the decoded objects) with
// the expected section. With -update the expected section is rewritten.
//
// A comment line "pad: N" in the archive appends a YAML comment to the input
// so that it is N bytes long; it keeps huge inputs out of testdata. A
// comment line "namespace: NS" decodes with DecodeAllIn (kubectl's -n).
func TestDecodeGolden(t *testing.T) {
	for _, file := range golden.Files(t, filepath.Join("testdata", "decode")) {
		name := strings.TrimSuffix(filepath.Base(file), ".txtar")
		t.Run(name, func(t *testing.T) {
			ar, err := txtar.ParseFile(file)
			if err != nil {
				t.Fatal(err)
			}
			input, ok := golden.Section(ar, "input.yaml")
			if !ok {
				t.Fatalf("%s: no input.yaml section", file)
			}
			input = pad(t, ar.Comment, input)
			got := renderDecode(t, input, directive(ar.Comment, "namespace"))
			golden.Check(t, file, ar, got, *update)
		})
	}
}

func directive(comment []byte, name string) string {
	for _, l := range strings.Split(string(comment), "\n") {
		if v, ok := strings.CutPrefix(l, name+": "); ok {
			return strings.TrimSpace(v)
		}
	}
	return ""
}

func pad(t *testing.T, comment, input []byte) []byte {
	for _, l := range strings.Split(string(comment), "\n") {
		v, ok := strings.CutPrefix(l, "pad: ")
		if !ok {
			continue
		}
		n, err := strconv.Atoi(strings.TrimSpace(v))
		if err != nil {
			t.Fatalf("bad pad directive %q: %v", l, err)
		}
		if n > len(input)+2 {
			filler := bytes.Repeat([]byte("x"), n-len(input)-2)
			input = append(append(append(input, '#'), filler...), '\n')
		}
	}
	return input
}

// renderDecode is the text a golden file holds: decode errors first, then
// for each decoded object its JSON, its problems and "ok: Ref" when it has
// no errors. Route-level problems carry their route index, since the
// translator drops only that route.
func renderDecode(t *testing.T, input []byte, namespace string) string {
	t.Helper()
	var b strings.Builder
	var objs []Object
	var err error
	if namespace == "" {
		objs, err = DecodeAll(bytes.NewReader(input), "input.yaml")
	} else {
		objs, err = DecodeAllIn(bytes.NewReader(input), "input.yaml", namespace)
	}
	if err != nil {
		var des DecodeErrors
		if errors.As(err, &des) {
			for _, de := range des {
				fmt.Fprintf(&b, "decode error: %s\n", de.Error())
				for _, p := range de.Problems {
					if p == "" {
						t.Errorf("empty problem in %+v", de)
					}
				}
			}
		} else {
			fmt.Fprintf(&b, "decode error: %s\n", err)
			if objs != nil {
				t.Errorf("DecodeAll returned objects with a non-DecodeErrors error: %v", err)
			}
		}
	}
	for _, o := range objs {
		js, err := json.Marshal(o)
		if err != nil {
			t.Fatalf("marshal %s: %v", Ref(o), err)
		}
		fmt.Fprintf(&b, "object: %s\n", js)
		// What was decoded must decode again to the same thing: the
		// store writes these bytes and reads them back.
		again, err := DecodeOne(js)
		if err != nil {
			t.Errorf("%s does not decode again: %v", Ref(o), err)
		} else if js2, _ := json.Marshal(again); !bytes.Equal(js, js2) {
			t.Errorf("%s changes when decoded again:\n%s\n%s", Ref(o), js, js2)
		}
		ps := Validate(o)
		for _, p := range ps {
			if p.Message == "" {
				t.Errorf("%s: problem with an empty message: %+v", Ref(o), p)
			}
			kind := "error"
			if p.Warning {
				kind = "warning"
			}
			if p.Route >= 0 {
				kind += fmt.Sprintf("[route %d]", p.Route)
			}
			fmt.Fprintf(&b, "%s: %s\n", kind, p)
		}
		// Check refuses the errors but those about Gloo fields lambdagate
		// keeps without implementing them.
		var errs Problems
		for _, p := range ps.Errors() {
			if !p.Unimplemented {
				errs = append(errs, p)
			}
		}
		for _, p := range ps.Unserved() {
			fmt.Fprintf(&b, "stored, not served: %s\n", p)
		}
		cerr := Check(o)
		switch {
		case len(errs) == 0 && cerr != nil:
			t.Errorf("Check(%s) = %v, but Validate found no errors", Ref(o), cerr)
		case len(errs) > 0 && cerr == nil:
			t.Errorf("Check(%s) = nil, but Validate found %s", Ref(o), errs.Join())
		case len(errs) > 0 && cerr.Error() != Ref(o)+": "+errs.Join():
			t.Errorf("Check(%s) = %q, want %q", Ref(o), cerr, Ref(o)+": "+errs.Join())
		}
		if len(errs) == 0 {
			fmt.Fprintf(&b, "ok: %s\n", Ref(o))
		}
	}
	if b.Len() == 0 {
		b.WriteString("(no objects)\n")
	}
	return b.String()
}
