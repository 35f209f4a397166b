package locallambda

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awsmiddleware "github.com/aws/aws-sdk-go-v2/aws/middleware"
	"github.com/aws/aws-sdk-go-v2/service/lambda"
	"github.com/aws/aws-sdk-go-v2/service/lambda/types"
	"github.com/aws/smithy-go"
)

const probeJS = `
const fs = require('fs');
exports.handler = async (event, context) => {
  switch (event.action) {
    case 'throw': throw new TypeError('boom');
    case 'log':
      console.log('log-marker', event.marker);
      process.stderr.write('stderr-marker\n');
      return 'logged';
    case 'sleep':
      await new Promise((r) => setTimeout(r, event.ms));
      return 'slept';
    case 'exit':
      process.exit(event.code);
    case 'touch':
      fs.writeFileSync(event.path, JSON.stringify(event));
      return 'touched';
    case 'block':
      fs.writeFileSync(event.started, 'x');
      for (let i = 0; i < 500 && !fs.existsSync(event.release); i++) await new Promise((r) => setTimeout(r, 20));
      return 'released';
    case 'env':
      return { env: process.env, pid: process.pid };
    case 'child': {
      const c = require('child_process').spawn(process.execPath, ['-e', 'setTimeout(() => {}, 600000)'], { stdio: 'ignore' });
      return { pid: process.pid, child: c.pid };
    }
    default:
      return {
        event,
        version: context.functionVersion,
        arn: context.invokedFunctionArn,
        remaining: context.getRemainingTimeInMillis(),
        requestId: context.awsRequestId,
        functionName: context.functionName,
        memory: context.memoryLimitInMB,
      };
  }
};
`

const probeManifest = `
timeout: 5
memorySize: 256
description: probe function
environment:
  GREETING: hello
versions:
  - version: 1
    description: first
  - version: 2
aliases:
  live: "1"
  edge: "$LATEST"
`

// nodeFunctions writes the Node functions the invoke tests share.
func nodeFunctions(t *testing.T) string {
	t.Helper()
	requireNode(t)
	dir := t.TempDir()
	echo, err := os.ReadFile(filepath.Join("..", "..", "examples", "functions", "echo", "index.js"))
	if err != nil {
		t.Fatalf("reading the walkthrough echo function: %v", err)
	}
	writeFunction(t, dir, "echo", map[string]string{"index.js": string(echo)})
	writeFunction(t, dir, "probe", map[string]string{"index.js": probeJS, "function.yaml": probeManifest})
	writeFunction(t, dir, "slow", map[string]string{"index.js": probeJS, "function.yaml": "timeout: 1\n"})
	writeFunction(t, dir, "single", map[string]string{"index.js": probeJS, "function.yaml": "reservedConcurrency: 1\ntimeout: 15\n"})
	writeFunction(t, dir, "cb", map[string]string{"index.js": `
exports.handler = (event, context, callback) => {
  if (event.fail) return callback(new Error('cb failed'));
  setTimeout(() => callback(null, { cb: event.v, left: context.getRemainingTimeInMillis() > 0 }), 5);
};`})
	writeFunction(t, dir, "nohandler", map[string]string{"index.js": "exports.other = 1;\n"})
	writeFunction(t, dir, "syntax", map[string]string{"index.js": "exports.handler = async (event) => {\n"})
	writeFunction(t, dir, "esm", map[string]string{"index.mjs": "export const handler = async (event) => ({ esm: event.x });\n"})
	return dir
}

func invoke(t *testing.T, c *lambda.Client, in *lambda.InvokeInput) *lambda.InvokeOutput {
	t.Helper()
	out, err := c.Invoke(ctxT(t), in)
	if err != nil {
		t.Fatalf("Invoke(%s): %v", aws.ToString(in.FunctionName), err)
	}
	return out
}

func decode(t *testing.T, b []byte) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatalf("decoding %q: %v", b, err)
	}
	return m
}

func TestInvokeNode(t *testing.T) {
	env := startServer(t, Options{Dir: nodeFunctions(t)})
	c := env.client

	t.Run("walkthrough echo", func(t *testing.T) {
		payload := []byte(`{"hello":"world","n":[1,2,3]}`)
		out := invoke(t, c, &lambda.InvokeInput{FunctionName: aws.String("echo"), Payload: payload})
		if out.StatusCode != 200 || out.FunctionError != nil || aws.ToString(out.ExecutedVersion) != "$LATEST" {
			t.Fatalf("status %d, function error %v, version %v", out.StatusCode, aws.ToString(out.FunctionError), aws.ToString(out.ExecutedVersion))
		}
		if !bytes.Equal(out.Payload, payload) {
			t.Fatalf("payload = %s, want %s", out.Payload, payload)
		}
	})

	t.Run("empty payload is {}", func(t *testing.T) {
		out := invoke(t, c, &lambda.InvokeInput{FunctionName: aws.String("echo")})
		if string(out.Payload) != "{}" {
			t.Fatalf("payload = %s, want {}", out.Payload)
		}
	})

	t.Run("esm module", func(t *testing.T) {
		out := invoke(t, c, &lambda.InvokeInput{FunctionName: aws.String("esm"), Payload: []byte(`{"x":7}`)})
		if string(out.Payload) != `{"esm":7}` {
			t.Fatalf("payload = %s", out.Payload)
		}
	})

	qualifierCases := []struct {
		name        string
		function    string
		qualifier   string
		wantVersion string
		wantARN     string
	}{
		{"latest by default", "probe", "", "$LATEST", "arn:aws:lambda:us-east-1:000000000000:function:probe"},
		{"explicit $LATEST", "probe", "$LATEST", "$LATEST", "arn:aws:lambda:us-east-1:000000000000:function:probe:$LATEST"},
		{"version qualifier", "probe", "2", "2", "arn:aws:lambda:us-east-1:000000000000:function:probe:2"},
		{"alias qualifier", "probe", "live", "1", "arn:aws:lambda:us-east-1:000000000000:function:probe:live"},
		{"alias to $LATEST", "probe", "edge", "$LATEST", "arn:aws:lambda:us-east-1:000000000000:function:probe:edge"},
		{"name:version", "probe:1", "", "1", "arn:aws:lambda:us-east-1:000000000000:function:probe:1"},
		{"full ARN", "arn:aws:lambda:us-east-1:000000000000:function:probe", "", "$LATEST", "arn:aws:lambda:us-east-1:000000000000:function:probe"},
		{"full ARN with alias", "arn:aws:lambda:us-east-1:000000000000:function:probe:live", "", "1", "arn:aws:lambda:us-east-1:000000000000:function:probe:live"},
		{"ARN from another account", "arn:aws:lambda:eu-west-1:123456789012:function:probe", "2", "2", "arn:aws:lambda:us-east-1:000000000000:function:probe:2"},
		{"partial ARN", "000000000000:function:probe:2", "", "2", "arn:aws:lambda:us-east-1:000000000000:function:probe:2"},
		{"matching qualifier twice", "probe:live", "live", "1", "arn:aws:lambda:us-east-1:000000000000:function:probe:live"},
	}
	for _, tc := range qualifierCases {
		t.Run(tc.name, func(t *testing.T) {
			in := &lambda.InvokeInput{FunctionName: aws.String(tc.function), Payload: []byte(`{"k":"v"}`)}
			if tc.qualifier != "" {
				in.Qualifier = aws.String(tc.qualifier)
			}
			out := invoke(t, c, in)
			if got := aws.ToString(out.ExecutedVersion); got != tc.wantVersion {
				t.Errorf("ExecutedVersion = %q, want %q", got, tc.wantVersion)
			}
			m := decode(t, out.Payload)
			if m["version"] != tc.wantVersion {
				t.Errorf("context.functionVersion = %v, want %q", m["version"], tc.wantVersion)
			}
			if m["arn"] != tc.wantARN {
				t.Errorf("context.invokedFunctionArn = %v, want %q", m["arn"], tc.wantARN)
			}
			if m["functionName"] != "probe" || m["memory"] != "256" {
				t.Errorf("context functionName/memory = %v/%v", m["functionName"], m["memory"])
			}
			if rem, _ := m["remaining"].(float64); rem <= 0 || rem > 5000 {
				t.Errorf("getRemainingTimeInMillis() = %v, want in (0, 5000]", m["remaining"])
			}
			if ev, _ := m["event"].(map[string]any); ev["k"] != "v" {
				t.Errorf("event = %v", m["event"])
			}
		})
	}

	errorCases := []struct {
		name     string
		function string
		qual     string
		payload  string
		check    func(error) bool
		wantCode string
	}{
		{"unknown function", "nope", "", `{}`, func(err error) bool { var e *types.ResourceNotFoundException; return errors.As(err, &e) }, "ResourceNotFoundException"},
		{"unknown version", "probe", "9", `{}`, func(err error) bool { var e *types.ResourceNotFoundException; return errors.As(err, &e) }, "ResourceNotFoundException"},
		{"unknown alias", "probe", "nope", `{}`, func(err error) bool { var e *types.ResourceNotFoundException; return errors.As(err, &e) }, "ResourceNotFoundException"},
		{"conflicting qualifiers", "probe:1", "2", `{}`, func(err error) bool { var e *types.InvalidParameterValueException; return errors.As(err, &e) }, "InvalidParameterValueException"},
		{"non-JSON body", "echo", "", `not json`, func(err error) bool { var e *types.InvalidRequestContentException; return errors.As(err, &e) }, "InvalidRequestContentException"},
	}
	for _, tc := range errorCases {
		t.Run(tc.name, func(t *testing.T) {
			in := &lambda.InvokeInput{FunctionName: aws.String(tc.function), Payload: []byte(tc.payload)}
			if tc.qual != "" {
				in.Qualifier = aws.String(tc.qual)
			}
			_, err := c.Invoke(ctxT(t), in)
			if err == nil || !tc.check(err) {
				t.Fatalf("err = %v (%T), want %s", err, err, tc.wantCode)
			}
			var re interface{ HTTPStatusCode() int }
			if errors.As(err, &re) && tc.wantCode == "ResourceNotFoundException" && re.HTTPStatusCode() != 404 {
				t.Errorf("status = %d, want 404", re.HTTPStatusCode())
			}
		})
	}

	t.Run("dry run", func(t *testing.T) {
		out := invoke(t, c, &lambda.InvokeInput{FunctionName: aws.String("echo"), InvocationType: types.InvocationTypeDryRun})
		if out.StatusCode != 204 || len(out.Payload) != 0 {
			t.Fatalf("status %d payload %q, want 204 and empty", out.StatusCode, out.Payload)
		}
	})

	t.Run("event", func(t *testing.T) {
		marker := filepath.Join(t.TempDir(), "ran")
		payload, _ := json.Marshal(map[string]string{"action": "touch", "path": marker})
		out := invoke(t, c, &lambda.InvokeInput{FunctionName: aws.String("probe"), InvocationType: types.InvocationTypeEvent, Payload: payload})
		if out.StatusCode != 202 || len(out.Payload) != 0 {
			t.Fatalf("status %d payload %q, want 202 and empty", out.StatusCode, out.Payload)
		}
		eventually(t, 20*time.Second, "the event invocation to run", func() bool {
			_, err := os.Stat(marker)
			return err == nil
		})
	})

	t.Run("tail logs", func(t *testing.T) {
		out := invoke(t, c, &lambda.InvokeInput{FunctionName: aws.String("probe"), LogType: types.LogTypeTail, Payload: []byte(`{"action":"log","marker":"m-4711"}`)})
		raw, err := base64.StdEncoding.DecodeString(aws.ToString(out.LogResult))
		if err != nil {
			t.Fatalf("LogResult is not base64: %v", err)
		}
		logs := string(raw)
		for _, want := range []string{"START RequestId: ", "Version: $LATEST", "\tINFO\tlog-marker m-4711", "stderr-marker", "END RequestId: ", "REPORT RequestId: ", "Duration: ", "Memory Size: 256 MB", "Max Memory Used: "} {
			if !strings.Contains(logs, want) {
				t.Errorf("tail log lacks %q:\n%s", want, logs)
			}
		}
		if len(raw) > logTailBytes {
			t.Errorf("tail is %d bytes, want at most %d", len(raw), logTailBytes)
		}
	})

	t.Run("no tail without LogType", func(t *testing.T) {
		out := invoke(t, c, &lambda.InvokeInput{FunctionName: aws.String("echo"), Payload: []byte(`{}`)})
		if out.LogResult != nil {
			t.Fatalf("LogResult = %q, want none", aws.ToString(out.LogResult))
		}
	})

	t.Run("function error", func(t *testing.T) {
		out := invoke(t, c, &lambda.InvokeInput{FunctionName: aws.String("probe"), Payload: []byte(`{"action":"throw"}`)})
		if out.StatusCode != 200 || aws.ToString(out.FunctionError) != "Unhandled" {
			t.Fatalf("status %d FunctionError %q, want 200 Unhandled", out.StatusCode, aws.ToString(out.FunctionError))
		}
		m := decode(t, out.Payload)
		if m["errorType"] != "TypeError" || m["errorMessage"] != "boom" {
			t.Fatalf("error body = %s", out.Payload)
		}
		if tr, _ := m["trace"].([]any); len(tr) == 0 {
			t.Errorf("error body has no trace: %s", out.Payload)
		}
	})

	t.Run("callback handler", func(t *testing.T) {
		out := invoke(t, c, &lambda.InvokeInput{FunctionName: aws.String("cb"), Payload: []byte(`{"v":3}`)})
		if string(out.Payload) != `{"cb":3,"left":true}` || out.FunctionError != nil {
			t.Fatalf("payload %s, function error %v", out.Payload, aws.ToString(out.FunctionError))
		}
		out = invoke(t, c, &lambda.InvokeInput{FunctionName: aws.String("cb"), Payload: []byte(`{"fail":true}`)})
		if m := decode(t, out.Payload); aws.ToString(out.FunctionError) != "Unhandled" || m["errorMessage"] != "cb failed" || m["errorType"] != "Error" {
			t.Fatalf("payload %s, function error %v", out.Payload, aws.ToString(out.FunctionError))
		}
	})

	initCases := []struct{ function, wantType string }{
		{"nohandler", "Runtime.HandlerNotFound"},
		{"syntax", "Runtime.UserCodeSyntaxError"},
	}
	for _, tc := range initCases {
		t.Run("init error "+tc.function, func(t *testing.T) {
			out := invoke(t, c, &lambda.InvokeInput{FunctionName: aws.String(tc.function)})
			if m := decode(t, out.Payload); aws.ToString(out.FunctionError) != "Unhandled" || m["errorType"] != tc.wantType {
				t.Fatalf("FunctionError %q payload %s, want errorType %s", aws.ToString(out.FunctionError), out.Payload, tc.wantType)
			}
		})
	}

	t.Run("timeout", func(t *testing.T) {
		out := invoke(t, c, &lambda.InvokeInput{FunctionName: aws.String("slow"), LogType: types.LogTypeTail, Payload: []byte(`{"action":"sleep","ms":30000}`)})
		if aws.ToString(out.FunctionError) != "Unhandled" {
			t.Fatalf("FunctionError = %q, want Unhandled", aws.ToString(out.FunctionError))
		}
		m := decode(t, out.Payload)
		if m["errorType"] != "Sandbox.Timedout" {
			t.Errorf("errorType = %v, want Sandbox.Timedout", m["errorType"])
		}
		re := regexp.MustCompile(`^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z [0-9a-f-]{36} Task timed out after 1\.\d\d seconds$`)
		if msg, _ := m["errorMessage"].(string); !re.MatchString(msg) {
			t.Errorf("errorMessage = %q, want %s", msg, re)
		}
		logs, _ := base64.StdEncoding.DecodeString(aws.ToString(out.LogResult))
		if !strings.Contains(string(logs), "Task timed out after") || !strings.Contains(string(logs), "END RequestId") {
			t.Errorf("tail log lacks the timeout lines:\n%s", logs)
		}
		// The instance was replaced: the next call runs normally.
		out = invoke(t, c, &lambda.InvokeInput{FunctionName: aws.String("slow"), Payload: []byte(`{"action":"sleep","ms":1}`)})
		if out.FunctionError != nil || string(out.Payload) != `"slept"` {
			t.Fatalf("after timeout: FunctionError %v payload %s", aws.ToString(out.FunctionError), out.Payload)
		}
	})

	t.Run("crash mid-invocation", func(t *testing.T) {
		out := invoke(t, c, &lambda.InvokeInput{FunctionName: aws.String("probe"), Payload: []byte(`{"action":"exit","code":3}`)})
		m := decode(t, out.Payload)
		if aws.ToString(out.FunctionError) != "Unhandled" || m["errorType"] != "Runtime.ExitError" {
			t.Fatalf("FunctionError %q payload %s", aws.ToString(out.FunctionError), out.Payload)
		}
		if msg, _ := m["errorMessage"].(string); !strings.HasPrefix(msg, "RequestId: ") || !strings.HasSuffix(msg, "Error: Runtime exited with error: exit status 3") {
			t.Errorf("errorMessage = %q", msg)
		}
		out = invoke(t, c, &lambda.InvokeInput{FunctionName: aws.String("probe"), Payload: []byte(`{"k":1}`)})
		if out.FunctionError != nil {
			t.Fatalf("after crash: FunctionError %v payload %s", aws.ToString(out.FunctionError), out.Payload)
		}
	})

	t.Run("warm instance reused", func(t *testing.T) {
		pid := func() float64 {
			out := invoke(t, c, &lambda.InvokeInput{FunctionName: aws.String("probe"), Qualifier: aws.String("2"), Payload: []byte(`{"action":"env"}`)})
			return decode(t, out.Payload)["pid"].(float64)
		}
		if a, b := pid(), pid(); a != b {
			t.Fatalf("sequential invocations ran in processes %v and %v, want one warm instance", a, b)
		}
	})

	t.Run("environment contract", func(t *testing.T) {
		out := invoke(t, c, &lambda.InvokeInput{FunctionName: aws.String("probe"), Qualifier: aws.String("live"), Payload: []byte(`{"action":"env"}`)})
		envm, _ := decode(t, out.Payload)["env"].(map[string]any)
		want := map[string]string{
			"_HANDLER":                        "index.handler",
			"AWS_LAMBDA_FUNCTION_NAME":        "probe",
			"AWS_LAMBDA_FUNCTION_VERSION":     "1",
			"AWS_LAMBDA_FUNCTION_MEMORY_SIZE": "256",
			"AWS_REGION":                      "us-east-1",
			"AWS_DEFAULT_REGION":              "us-east-1",
			"GREETING":                        "hello",
		}
		for k, v := range want {
			if envm[k] != v {
				t.Errorf("%s = %v, want %q", k, envm[k], v)
			}
		}
		for _, k := range []string{"AWS_LAMBDA_RUNTIME_API", "LAMBDA_TASK_ROOT", "AWS_LAMBDA_LOG_STREAM_NAME"} {
			if s, _ := envm[k].(string); s == "" {
				t.Errorf("%s is not set", k)
			}
		}
		if !strings.HasPrefix(envm["AWS_LAMBDA_RUNTIME_API"].(string), "127.0.0.1:") {
			t.Errorf("AWS_LAMBDA_RUNTIME_API = %v, want 127.0.0.1:port", envm["AWS_LAMBDA_RUNTIME_API"])
		}
	})
}

// TestNoGatewaySecretsLeak checks the function environment is built from
// scratch: the gateway's credentials never reach function code.
func TestNoGatewaySecretsLeak(t *testing.T) {
	t.Setenv("AWS_SECRET_ACCESS_KEY", "gateway-secret-value")
	t.Setenv("AWS_ACCESS_KEY_ID", "AKIAGATEWAY")
	t.Setenv("LAMBDAGATE_DB_PASSWORD", "hunter2")
	requireNode(t)
	dir := t.TempDir()
	writeFunction(t, dir, "probe", map[string]string{"index.js": probeJS})
	env := startServer(t, Options{Dir: dir})
	out := invoke(t, env.client, &lambda.InvokeInput{FunctionName: aws.String("probe"), Payload: []byte(`{"action":"env"}`)})
	if bytes.Contains(out.Payload, []byte("gateway-secret-value")) || bytes.Contains(out.Payload, []byte("AKIAGATEWAY")) || bytes.Contains(out.Payload, []byte("hunter2")) {
		t.Fatalf("function environment leaks the gateway's environment: %s", out.Payload)
	}
}

func TestThrottleReservedConcurrency(t *testing.T) {
	env := startServer(t, Options{Dir: nodeFunctions(t)})
	tmp := t.TempDir()
	started, release := filepath.Join(tmp, "started"), filepath.Join(tmp, "release")
	payload, _ := json.Marshal(map[string]string{"action": "block", "started": started, "release": release})

	var wg sync.WaitGroup
	var first *lambda.InvokeOutput
	var firstErr error
	wg.Add(1)
	go func() {
		defer wg.Done()
		first, firstErr = env.client.Invoke(ctxT(t), &lambda.InvokeInput{FunctionName: aws.String("single"), Payload: payload})
	}()
	eventually(t, 20*time.Second, "the first invocation to start", func() bool {
		_, err := os.Stat(started)
		return err == nil
	})
	_, err := env.client.Invoke(ctxT(t), &lambda.InvokeInput{FunctionName: aws.String("single"), Payload: []byte(`{}`)})
	var tm *types.TooManyRequestsException
	if !errors.As(err, &tm) {
		t.Fatalf("second invocation: err = %v (%T), want TooManyRequestsException", err, err)
	}
	if tm.Reason != types.ThrottleReasonReservedFunctionConcurrentInvocationLimitExceeded {
		t.Errorf("Reason = %q, want ReservedFunctionConcurrentInvocationLimitExceeded", tm.Reason)
	}
	var re interface{ HTTPStatusCode() int }
	if errors.As(err, &re) && re.HTTPStatusCode() != 429 {
		t.Errorf("status = %d, want 429", re.HTTPStatusCode())
	}
	if err := os.WriteFile(release, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	wg.Wait()
	if firstErr != nil || string(first.Payload) != `"released"` {
		t.Fatalf("first invocation: err %v payload %s", firstErr, first.Payload)
	}
	// The slot is free again.
	invoke(t, env.client, &lambda.InvokeInput{FunctionName: aws.String("single"), Payload: []byte(`{}`)})
}

func TestPayloadLimits(t *testing.T) {
	dir := t.TempDir()
	writeFunction(t, dir, "echo", map[string]string{"index.js": "exports.handler = async (e) => e;\n"})
	env := startServer(t, Options{Dir: dir})
	big := func(n int) []byte {
		b := bytes.Repeat([]byte("a"), n)
		return append(append([]byte(`"`), b[:n-2]...), '"')
	}
	cases := []struct {
		name    string
		typ     types.InvocationType
		payload []byte
	}{
		{"sync over 6 MB", types.InvocationTypeRequestResponse, big(maxSyncPayload + 1)},
		{"event over 1 MB", types.InvocationTypeEvent, big(maxAsyncPayload + 1)},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := env.client.Invoke(ctxT(t), &lambda.InvokeInput{FunctionName: aws.String("echo"), InvocationType: tc.typ, Payload: tc.payload})
			// AWS answers RequestEntityTooLargeException, a code the SDK
			// models no type for.
			var ae smithy.APIError
			if !errors.As(err, &ae) || ae.ErrorCode() != "RequestEntityTooLargeException" {
				t.Fatalf("err = %v (%T), want RequestEntityTooLargeException", err, err)
			}
			var re interface{ HTTPStatusCode() int }
			if errors.As(err, &re) && re.HTTPStatusCode() != 413 {
				t.Errorf("status = %d, want 413", re.HTTPStatusCode())
			}
		})
	}
	// API_Invoke: "For asynchronous invocations, the maximum payload size
	// is 1 MB".
	out, err := env.client.Invoke(ctxT(t), &lambda.InvokeInput{FunctionName: aws.String("echo"), InvocationType: types.InvocationTypeEvent, Payload: big(1 << 20)})
	if err != nil || out.StatusCode != 202 {
		t.Fatalf("Event invocation of 1 MB: %v, want 202", err)
	}
}

func TestGoFunction(t *testing.T) {
	dir := t.TempDir()
	// A prebuilt aws-lambda-go binary: once declared as runtime go, once as
	// a plain custom runtime (detected from the executable bootstrap).
	buildGoFunction(t, filepath.Join(dir, "gofn", "bootstrap"))
	writeFunction(t, dir, "gofn", map[string]string{"function.yaml": "runtime: go\nversions:\n  - version: 1\n"})
	buildGoFunction(t, filepath.Join(dir, "custom", "bootstrap"))
	env := startServer(t, Options{Dir: dir, Region: "eu-central-1"})

	for _, name := range []string{"gofn", "custom"} {
		t.Run(name, func(t *testing.T) {
			out := invoke(t, env.client, &lambda.InvokeInput{FunctionName: aws.String(name), Payload: []byte(`{"name":"gopher"}`)})
			if out.FunctionError != nil {
				t.Fatalf("FunctionError %q payload %s", aws.ToString(out.FunctionError), out.Payload)
			}
			m := decode(t, out.Payload)
			if m["hello"] != "gopher" || m["function"] != name || m["hasDeadline"] != true || m["region"] != "eu-central-1" || m["version"] != "$LATEST" {
				t.Errorf("payload = %s", out.Payload)
			}
			if id, _ := m["requestId"].(string); len(id) != 36 {
				t.Errorf("requestId = %v", m["requestId"])
			}
			if m["arn"] != "arn:aws:lambda:eu-central-1:000000000000:function:"+name {
				t.Errorf("arn = %v", m["arn"])
			}
			out = invoke(t, env.client, &lambda.InvokeInput{FunctionName: aws.String(name), Payload: []byte(`{"fail":true}`)})
			if m := decode(t, out.Payload); aws.ToString(out.FunctionError) != "Unhandled" || m["errorMessage"] != "go handler failed" || m["errorType"] != "errorString" {
				t.Fatalf("FunctionError %q payload %s", aws.ToString(out.FunctionError), out.Payload)
			}
		})
	}
	t.Run("version", func(t *testing.T) {
		out := invoke(t, env.client, &lambda.InvokeInput{FunctionName: aws.String("gofn:1"), Payload: []byte(`{"name":"v1"}`)})
		if m := decode(t, out.Payload); m["version"] != "1" || aws.ToString(out.ExecutedVersion) != "1" {
			t.Fatalf("payload %s executed %q", out.Payload, aws.ToString(out.ExecutedVersion))
		}
	})
}

// TestGoSourceFunction has the service build a go function from source.
func TestGoSourceFunction(t *testing.T) {
	src, err := filepath.Abs(filepath.Join("testdata", "gofunc"))
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	if err := os.Symlink(src, filepath.Join(dir, "gosrc")); err != nil {
		t.Fatal(err)
	}
	// The build runs inside the main module; it must not rewrite go.mod.
	t.Setenv("GOFLAGS", "-mod=readonly")
	env := startServer(t, Options{Dir: dir})
	out := invoke(t, env.client, &lambda.InvokeInput{FunctionName: aws.String("gosrc"), Payload: []byte(`{"name":"src"}`)})
	if m := decode(t, out.Payload); out.FunctionError != nil || m["hello"] != "src" {
		t.Fatalf("FunctionError %q payload %s", aws.ToString(out.FunctionError), out.Payload)
	}
}

func TestReloadOnChange(t *testing.T) {
	requireNode(t)
	dir := t.TempDir()
	writeFunction(t, dir, "fn", map[string]string{"index.js": `exports.handler = async () => "v1";`})
	env := startServer(t, Options{Dir: dir, PollInterval: 50 * time.Millisecond})
	get := func() string {
		out := invoke(t, env.client, &lambda.InvokeInput{FunctionName: aws.String("fn")})
		return string(out.Payload)
	}
	if got := get(); got != `"v1"` {
		t.Fatalf("payload = %s, want \"v1\"", got)
	}
	writeFunction(t, dir, "fn", map[string]string{"index.js": `exports.handler = async () => "version2";`})
	eventually(t, 20*time.Second, "the changed code to be served", func() bool { return get() == `"version2"` })

	writeFunction(t, dir, "added", map[string]string{"index.js": `exports.handler = async () => "new";`})
	eventually(t, 20*time.Second, "the new function to appear", func() bool {
		out, err := env.client.Invoke(ctxT(t), &lambda.InvokeInput{FunctionName: aws.String("added")})
		return err == nil && string(out.Payload) == `"new"`
	})
	if err := os.RemoveAll(filepath.Join(dir, "added")); err != nil {
		t.Fatal(err)
	}
	eventually(t, 20*time.Second, "the removed function to disappear", func() bool {
		_, err := env.client.GetFunction(ctxT(t), &lambda.GetFunctionInput{FunctionName: aws.String("added")})
		var nf *types.ResourceNotFoundException
		return errors.As(err, &nf)
	})
}

// TestCloseEndsProcesses checks Close kills function processes and the
// children they spawned (the whole process group).
func TestCloseEndsProcesses(t *testing.T) {
	requireNode(t)
	dir := t.TempDir()
	writeFunction(t, dir, "probe", map[string]string{"index.js": probeJS})
	srv, err := New(Options{Dir: dir})
	if err != nil {
		t.Fatal(err)
	}
	ln := listen(t)
	go srv.Serve(ln)
	c := newClient("http://"+ln.Addr().String(), "k", "s")
	out := invoke(t, c, &lambda.InvokeInput{FunctionName: aws.String("probe"), Payload: []byte(`{"action":"child"}`)})
	m := decode(t, out.Payload)
	pids := []int{int(m["pid"].(float64)), int(m["child"].(float64))}
	for _, pid := range pids {
		if err := syscall.Kill(pid, 0); err != nil {
			t.Fatalf("process %d not running before Close: %v", pid, err)
		}
	}
	if err := srv.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	for _, pid := range pids {
		eventually(t, 10*time.Second, fmt.Sprintf("process %d to end", pid), func() bool {
			return errors.Is(syscall.Kill(pid, 0), syscall.ESRCH) || isZombie(pid)
		})
	}
	if _, err := os.Stat(srv.cacheDir); !os.IsNotExist(err) {
		t.Errorf("cache dir %s still exists after Close", srv.cacheDir)
	}
}

// isZombie reports a process that exited but was not reaped by its parent
// (the spawned child's parent was killed; init reaps it eventually).
func isZombie(pid int) bool {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return true
	}
	i := bytes.LastIndexByte(b, ')')
	return i > 0 && i+2 < len(b) && b[i+2] == 'Z'
}

func TestSmithyErrorCodes(t *testing.T) {
	// Not-found answers carry the AWS shape for every operation.
	dir := t.TempDir()
	env := startServer(t, Options{Dir: dir})
	ctx := ctxT(t)
	calls := map[string]func() error{
		"GetFunction": func() error {
			_, err := env.client.GetFunction(ctx, &lambda.GetFunctionInput{FunctionName: aws.String("x")})
			return err
		},
		"ListVersionsByFunction": func() error {
			_, err := env.client.ListVersionsByFunction(ctx, &lambda.ListVersionsByFunctionInput{FunctionName: aws.String("x")})
			return err
		},
		"ListAliases": func() error {
			_, err := env.client.ListAliases(ctx, &lambda.ListAliasesInput{FunctionName: aws.String("x")})
			return err
		},
	}
	for name, call := range calls {
		t.Run(name, func(t *testing.T) {
			err := call()
			var nf *types.ResourceNotFoundException
			if !errors.As(err, &nf) {
				t.Fatalf("err = %v, want ResourceNotFoundException", err)
			}
			var ae smithy.APIError
			if !errors.As(err, &ae) || !strings.Contains(ae.ErrorMessage(), "Function not found: arn:aws:lambda:us-east-1:000000000000:function:x") {
				t.Errorf("message = %v", err)
			}
		})
	}
}

// TestInvokeRequestID checks the Invoke answer's X-Amzn-RequestId is the
// function's context.awsRequestId, as on AWS.
func TestInvokeRequestID(t *testing.T) {
	requireNode(t)
	dir := t.TempDir()
	writeFunction(t, dir, "probe", map[string]string{"index.js": probeJS})
	env := startServer(t, Options{Dir: dir})
	out := invoke(t, env.client, &lambda.InvokeInput{FunctionName: aws.String("probe"), Payload: []byte(`{}`)})
	got, ok := awsmiddleware.GetRequestIDMetadata(out.ResultMetadata)
	if want := decode(t, out.Payload)["requestId"]; !ok || got != want {
		t.Fatalf("X-Amzn-RequestId = %q, want the function's awsRequestId %v", got, want)
	}
}
