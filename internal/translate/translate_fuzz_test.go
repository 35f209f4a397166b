package translate

import (
	"bytes"
	"net/http/httptest"
	"path/filepath"
	"testing"

	"github.com/rogpeppe/go-internal/txtar"

	"github.com/lambdagate/lambdagate/internal/awscreds"
	"github.com/lambdagate/lambdagate/internal/golden"
	"github.com/lambdagate/lambdagate/internal/resource"
	"github.com/lambdagate/lambdagate/internal/router"
)

// FuzzTranslate translates whatever DecodeAll accepts. Translation must
// never panic (one bad resource must not take the gateway down), must give
// every resource with a status exactly one well-formed status, and the
// tables it builds must answer lookups.
func FuzzTranslate(f *testing.F) {
	files, _ := filepath.Glob(filepath.Join("testdata", "translate", "*.txtar"))
	for _, file := range files {
		ar, err := txtar.ParseFile(file)
		if err != nil {
			f.Fatal(err)
		}
		if in, ok := golden.Section(ar, "input.yaml"); ok {
			f.Add(in)
		}
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		objs, _ := resource.DecodeAll(bytes.NewReader(data), "fuzz")
		if len(objs) == 0 {
			return
		}
		// sslFiles are read from disk; keep the fuzzer away from real
		// files (a path like /dev/zero would never end).
		for _, o := range objs {
			if vs, ok := o.(*resource.VirtualService); ok && vs.Spec.SSLConfig != nil && vs.Spec.SSLConfig.SSLFiles != nil {
				vs.Spec.SSLConfig.SSLFiles.TLSCert = filepath.Join(t.TempDir(), "missing.crt")
				vs.Spec.SSLConfig.SSLFiles.TLSKey = filepath.Join(t.TempDir(), "missing.key")
			}
		}
		snap := Translate(FromObjects(objs), awscreds.NewResolver(), parseEnv(t, nil))
		checkStatuses(t, objs, snap)
		for _, host := range []string{"x", "example.com", "api.example.com:8080", "[::1]:80"} {
			for _, tbl := range []*router.Table{snap.HTTP, snap.HTTPS} {
				vh := tbl.Host(host)
				req := httptest.NewRequest("GET", "http://"+host+"/a/b?q=1", nil)
				vh.Match(req, "/a/b")
			}
		}
	})
}
