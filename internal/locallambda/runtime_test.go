package locallambda

import (
	"errors"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/lambda"
	"github.com/aws/aws-sdk-go-v2/service/lambda/types"
	"github.com/aws/smithy-go"
)

// TestRuntimeFromHandler checks a folder whose manifest names a handler but
// no runtime gets the runtime of the handler's file, and that a folder whose
// runtime cannot be inferred is refused with a reason naming the handler.
func TestRuntimeFromHandler(t *testing.T) {
	cases := []struct {
		name        string
		files       map[string]string
		wantRuntime string
		wantErr     string
	}{
		{"handler in src, .js", map[string]string{"function.yaml": "handler: src/app.handler\n", "src/app.js": ""}, RuntimeNode, ""},
		{"handler .mjs", map[string]string{"function.yaml": "handler: lib/main.run\n", "lib/main.mjs": ""}, RuntimeNode, ""},
		{"handler .cjs", map[string]string{"function.yaml": "handler: app.handler\n", "app.cjs": ""}, RuntimeNode, ""},
		{"nested export", map[string]string{"function.yaml": "handler: src/app.routes.handler\n", "src/app.js": ""}, RuntimeNode, ""},
		{"index without manifest", map[string]string{"index.js": ""}, RuntimeNode, ""},
		{"go source", map[string]string{"function.yaml": "timeout: 3\n", "main.go": "package main\n"}, RuntimeGo, ""},
		{"handler file missing", map[string]string{"function.yaml": "handler: src/app.handler\n", "README.md": ""}, "", `handler "src/app.handler"`},
		{"nothing to run", map[string]string{"function.yaml": "timeout: 3\n"}, "", "set runtime"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			dir := writeFunction(t, t.TempDir(), "fn", tc.files)
			fn, err := loadFunction("fn", dir)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("err = %v, want containing %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if fn.Runtime != tc.wantRuntime {
				t.Fatalf("runtime = %q, want %q", fn.Runtime, tc.wantRuntime)
			}
		})
	}
}

// TestHandlerInSubfolder invokes a Node.js function whose manifest only
// names its handler, and checks a refused folder's 404 says why.
func TestHandlerInSubfolder(t *testing.T) {
	requireNode(t)
	dir := t.TempDir()
	writeFunction(t, dir, "app", map[string]string{
		"function.yaml": "handler: src/app.handler\n",
		"src/app.js":    "exports.handler = async (e) => ({ from: 'src/app', e });\n",
	})
	writeFunction(t, dir, "broken", map[string]string{"function.yaml": "handler: src/missing.handler\n"})
	env := startServer(t, Options{Dir: dir})
	out := invoke(t, env.client, &lambda.InvokeInput{FunctionName: aws.String("app"), Payload: []byte(`{"k":1}`)})
	if out.FunctionError != nil || string(out.Payload) != `{"from":"src/app","e":{"k":1}}` {
		t.Fatalf("FunctionError %q payload %s", aws.ToString(out.FunctionError), out.Payload)
	}
	_, err := env.client.Invoke(ctxT(t), &lambda.InvokeInput{FunctionName: aws.String("broken")})
	var nf *types.ResourceNotFoundException
	var ae smithy.APIError
	if !errors.As(err, &nf) || !errors.As(err, &ae) || !strings.Contains(ae.ErrorMessage(), `handler "src/missing.handler"`) {
		t.Fatalf("err = %v, want ResourceNotFoundException naming the handler", err)
	}
}
