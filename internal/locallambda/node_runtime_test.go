package locallambda

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/lambda"
)

// crashJS ends its process from code the handler does not await, the way
// a bug in a real application does.
const crashJS = `
exports.handler = async (event) => {
  switch (event.action) {
    case 'uncaught':
      setTimeout(() => { throw new Error('uncaught-boom'); }, 0);
      return new Promise(() => {});
    case 'rejection':
      Promise.reject(new Error('rejected-boom'));
      return 'returned';
    case 'rejection-pending':
      Promise.reject('not-an-error');
      return new Promise(() => {});
    default:
      return { pid: process.pid };
  }
};`

// TestCrashedInstanceNotReused checks that after an invocation ends its
// process (uncaught exception, unhandled rejection), the next invocation
// reaches a healthy instance instead of the dying process.
func TestCrashedInstanceNotReused(t *testing.T) {
	requireNode(t)
	dir := t.TempDir()
	writeFunction(t, dir, "crash", map[string]string{"index.js": crashJS})
	env := startServer(t, Options{Dir: dir})
	cases := []struct {
		action, wantMessage string
	}{
		{"uncaught", "uncaught-boom"},
		{"rejection", ""},
		{"rejection-pending", "not-an-error"},
	}
	for _, tc := range cases {
		t.Run(tc.action, func(t *testing.T) {
			for i := 0; i < 3; i++ {
				out := invoke(t, env.client, &lambda.InvokeInput{FunctionName: aws.String("crash"), Payload: []byte(`{"action":"` + tc.action + `"}`)})
				if tc.wantMessage != "" {
					m := decode(t, out.Payload)
					if aws.ToString(out.FunctionError) != "Unhandled" || !strings.Contains(m["errorMessage"].(string), tc.wantMessage) {
						t.Fatalf("crashing invocation: FunctionError %q payload %s", aws.ToString(out.FunctionError), out.Payload)
					}
				}
				out = invoke(t, env.client, &lambda.InvokeInput{FunctionName: aws.String("crash"), Payload: []byte(`{}`)})
				if out.FunctionError != nil {
					t.Fatalf("try %d: invocation after the crash: FunctionError %q payload %s", i, aws.ToString(out.FunctionError), out.Payload)
				}
			}
		})
	}
}

// callbackJS answers through the callback while a timer is still pending;
// the timer leaves a file behind when it fires.
const callbackJS = `
const fs = require('fs');
exports.handler = (event, context, callback) => {
  if (event.never) return;
  if (event.noWait) context.callbackWaitsForEmptyEventLoop = false;
  setTimeout(() => fs.writeFileSync(event.marker, 'fired'), event.ms);
  callback(null, { waits: context.callbackWaitsForEmptyEventLoop });
};`

// TestCallbackWaitsForEmptyEventLoop checks a callback handler's answer is
// held until its event loop is empty, unless the handler sets
// context.callbackWaitsForEmptyEventLoop = false.
func TestCallbackWaitsForEmptyEventLoop(t *testing.T) {
	requireNode(t)
	dir := t.TempDir()
	writeFunction(t, dir, "cbwait", map[string]string{"index.js": callbackJS, "function.yaml": "timeout: 10\n"})
	env := startServer(t, Options{Dir: dir})
	const timerMS = 700
	// Warm the instance so timings measure the invocation only.
	invoke(t, env.client, &lambda.InvokeInput{FunctionName: aws.String("cbwait"), Payload: []byte(`{"noWait":true,"ms":0,"marker":"` + filepath.Join(t.TempDir(), "warm") + `"}`)})

	t.Run("default waits", func(t *testing.T) {
		marker := filepath.Join(t.TempDir(), "fired")
		start := time.Now()
		out := invoke(t, env.client, &lambda.InvokeInput{FunctionName: aws.String("cbwait"), Payload: []byte(`{"ms":700,"marker":"` + marker + `"}`)})
		took := time.Since(start)
		if string(out.Payload) != `{"waits":true}` || out.FunctionError != nil {
			t.Fatalf("payload %s FunctionError %q", out.Payload, aws.ToString(out.FunctionError))
		}
		if took < timerMS*time.Millisecond {
			t.Errorf("answered after %s, before the %d ms timer", took, timerMS)
		}
		if _, err := os.Stat(marker); err != nil {
			t.Errorf("the pending timer had not run when the answer came: %v", err)
		}
	})
	t.Run("no callback answers null", func(t *testing.T) {
		out := invoke(t, env.client, &lambda.InvokeInput{FunctionName: aws.String("cbwait"), Payload: []byte(`{"never":true}`)})
		if string(out.Payload) != "null" || out.FunctionError != nil {
			t.Fatalf("payload %s FunctionError %q, want null", out.Payload, aws.ToString(out.FunctionError))
		}
	})
	t.Run("false answers at once", func(t *testing.T) {
		marker := filepath.Join(t.TempDir(), "fired")
		start := time.Now()
		out := invoke(t, env.client, &lambda.InvokeInput{FunctionName: aws.String("cbwait"), Payload: []byte(`{"noWait":true,"ms":700,"marker":"` + marker + `"}`)})
		took := time.Since(start)
		if string(out.Payload) != `{"waits":false}` || out.FunctionError != nil {
			t.Fatalf("payload %s FunctionError %q", out.Payload, aws.ToString(out.FunctionError))
		}
		if took >= timerMS*time.Millisecond {
			t.Errorf("answered after %s, want before the %d ms timer", took, timerMS)
		}
	})
}
