package locallambda

import (
	"bytes"
	"context"
	"encoding/base64"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/lambda"
	"github.com/aws/aws-sdk-go-v2/service/lambda/types"
)

// streamJS exercises the Node.js runtime's streaming API: chunks with
// pauses, the HTTP integration prelude, errors before and after the first
// write, and a handler that does not stream.
const streamJS = `
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
exports.handler = awslambda.streamifyResponse(async (event, stream, context) => {
  switch (event.mode) {
    case 'chunks':
      stream.setContentType('text/plain');
      for (let i = 0; i < 3; i++) {
        stream.write('chunk' + i + ';');
        await sleep(100);
      }
      stream.end();
      return;
    case 'http':
      stream = awslambda.HttpResponseStream.from(stream, { statusCode: 202, headers: { 'x-custom': 'yes' }, cookies: ['a=1'] });
      stream.write('body');
      stream.end();
      return;
    case 'fail-before':
      throw new TypeError('failed before writing');
    case 'fail-after':
      stream.write('partial');
      await sleep(50);
      throw new RangeError('failed after writing');
    case 'big': {
      const block = Buffer.alloc(64 * 1024, 'x');
      for (let i = 0; i < event.blocks; i++) {
        if (!stream.write(block)) await new Promise((r) => stream.once('drain', r));
      }
      stream.end();
      return;
    }
    case 'hang':
      stream.write('before the timeout');
      return new Promise(() => {});
    case 'log':
      console.log('streamed-log-line');
      stream.end('ok');
      return;
  }
});
`

const bufferedJS = `exports.handler = async (event) => ({ answered: event.n });`

type streamResult struct {
	contentType string
	version     string
	chunks      [][]byte
	arrivals    []time.Time
	complete    *types.InvokeWithResponseStreamCompleteEvent
}

func (r *streamResult) body() string { return string(bytes.Join(r.chunks, nil)) }

func invokeStream(t *testing.T, c *lambda.Client, in *lambda.InvokeWithResponseStreamInput) *streamResult {
	t.Helper()
	out, err := c.InvokeWithResponseStream(ctxT(t), in)
	if err != nil {
		t.Fatalf("InvokeWithResponseStream: %v", err)
	}
	st := out.GetStream()
	defer st.Close()
	res := &streamResult{contentType: aws.ToString(out.ResponseStreamContentType), version: aws.ToString(out.ExecutedVersion)}
	for ev := range st.Events() {
		switch v := ev.(type) {
		case *types.InvokeWithResponseStreamResponseEventMemberPayloadChunk:
			res.chunks = append(res.chunks, v.Value.Payload)
			res.arrivals = append(res.arrivals, time.Now())
		case *types.InvokeWithResponseStreamResponseEventMemberInvokeComplete:
			c := v.Value
			res.complete = &c
		}
	}
	if err := st.Err(); err != nil {
		t.Fatalf("event stream: %v", err)
	}
	if res.complete == nil {
		t.Fatalf("no InvokeComplete event; chunks %q", res.body())
	}
	return res
}

// TestInvokeWithResponseStream drives the local Lambda with the SDK's
// InvokeWithResponseStream: every event must decode with the SDK's event
// stream reader, chunks must arrive as the function writes them, and
// errors land in InvokeComplete.
func TestInvokeWithResponseStream(t *testing.T) {
	requireNode(t)
	dir := t.TempDir()
	writeFunction(t, dir, "streamer", map[string]string{"index.js": streamJS})
	writeFunction(t, dir, "buffered", map[string]string{"index.js": bufferedJS})
	env := startServer(t, Options{Dir: dir})
	in := func(fn, payload string) *lambda.InvokeWithResponseStreamInput {
		return &lambda.InvokeWithResponseStreamInput{FunctionName: aws.String(fn), Payload: []byte(payload)}
	}

	t.Run("chunks arrive as written", func(t *testing.T) {
		r := invokeStream(t, env.client, in("streamer", `{"mode":"chunks"}`))
		if r.body() != "chunk0;chunk1;chunk2;" {
			t.Fatalf("body %q", r.body())
		}
		if r.contentType != "text/plain" || r.version != "$LATEST" {
			t.Errorf("content type %q version %q", r.contentType, r.version)
		}
		if len(r.chunks) != 3 {
			t.Fatalf("%d chunks, want 3 (one per write)", len(r.chunks))
		}
		// The function sleeps 100ms between writes: buffered chunks would
		// arrive together.
		if gap := r.arrivals[2].Sub(r.arrivals[0]); gap < 150*time.Millisecond {
			t.Errorf("first to last chunk %s apart, want about 200ms", gap)
		}
		if r.complete.ErrorCode != nil {
			t.Errorf("ErrorCode %q", aws.ToString(r.complete.ErrorCode))
		}
	})

	t.Run("http integration prelude", func(t *testing.T) {
		r := invokeStream(t, env.client, in("streamer", `{"mode":"http"}`))
		if r.contentType != "application/vnd.awslambda.http-integration-response" {
			t.Errorf("content type %q", r.contentType)
		}
		want := `{"statusCode":202,"headers":{"x-custom":"yes"},"cookies":["a=1"]}` + strings.Repeat("\x00", 8) + "body"
		if r.body() != want {
			t.Errorf("body %q, want %q", r.body(), want)
		}
	})

	t.Run("error before the first byte", func(t *testing.T) {
		r := invokeStream(t, env.client, in("streamer", `{"mode":"fail-before"}`))
		if len(r.chunks) != 0 {
			t.Errorf("chunks %q, want none", r.body())
		}
		if aws.ToString(r.complete.ErrorCode) != "TypeError" || aws.ToString(r.complete.ErrorDetails) != "failed before writing" {
			t.Errorf("InvokeComplete %q %q", aws.ToString(r.complete.ErrorCode), aws.ToString(r.complete.ErrorDetails))
		}
	})

	t.Run("error after the first byte", func(t *testing.T) {
		r := invokeStream(t, env.client, in("streamer", `{"mode":"fail-after"}`))
		if r.body() != "partial" {
			t.Errorf("body %q", r.body())
		}
		if aws.ToString(r.complete.ErrorCode) != "RangeError" || aws.ToString(r.complete.ErrorDetails) != "failed after writing" {
			t.Errorf("InvokeComplete %q %q", aws.ToString(r.complete.ErrorCode), aws.ToString(r.complete.ErrorDetails))
		}
		// The instance stays usable.
		if r := invokeStream(t, env.client, in("streamer", `{"mode":"chunks"}`)); r.body() != "chunk0;chunk1;chunk2;" {
			t.Errorf("next invocation: %q", r.body())
		}
	})

	t.Run("large stream", func(t *testing.T) {
		r := invokeStream(t, env.client, in("streamer", `{"mode":"big","blocks":160}`))
		if n := len(r.body()); n != 160*64*1024 {
			t.Errorf("%d bytes, want %d", n, 160*64*1024)
		}
		for _, c := range r.chunks {
			if len(c) > streamChunk {
				t.Fatalf("a chunk of %d bytes, over %d", len(c), streamChunk)
			}
		}
	})

	t.Run("log tail", func(t *testing.T) {
		req := in("streamer", `{"mode":"log"}`)
		req.LogType = types.LogTypeTail
		r := invokeStream(t, env.client, req)
		logs, _ := base64.StdEncoding.DecodeString(aws.ToString(r.complete.LogResult))
		if !strings.Contains(string(logs), "streamed-log-line") || !strings.Contains(string(logs), "REPORT RequestId") {
			t.Errorf("LogResult %q", logs)
		}
	})

	t.Run("a function that does not stream", func(t *testing.T) {
		r := invokeStream(t, env.client, in("buffered", `{"n":7}`))
		if r.body() != `{"answered":7}` {
			t.Errorf("body %q", r.body())
		}
	})

	t.Run("api errors", func(t *testing.T) {
		_, err := env.client.InvokeWithResponseStream(ctxT(t), in("missing", `{}`))
		if err == nil || !strings.Contains(err.Error(), "ResourceNotFoundException") {
			t.Errorf("missing function: %v", err)
		}
		req := in("streamer", `{}`)
		req.InvocationType = "Event"
		if _, err := env.client.InvokeWithResponseStream(ctxT(t), req); err == nil || !strings.Contains(err.Error(), "InvalidParameterValueException") {
			t.Errorf("Event invocation type: %v", err)
		}
	})
}

// TestStreamTimeout: a function that streams past its timeout is stopped;
// the stream ends with InvokeComplete naming Sandbox.Timedout after what it
// wrote, and the next invocation gets a new instance.
func TestStreamTimeout(t *testing.T) {
	requireNode(t)
	dir := t.TempDir()
	writeFunction(t, dir, "streamer", map[string]string{"index.js": streamJS, "function.yaml": "timeout: 1\n"})
	env := startServer(t, Options{Dir: dir})
	start := time.Now()
	r := invokeStream(t, env.client, &lambda.InvokeWithResponseStreamInput{FunctionName: aws.String("streamer"), Payload: []byte(`{"mode":"hang"}`)})
	if r.body() != "before the timeout" || aws.ToString(r.complete.ErrorCode) != "Sandbox.Timedout" || !strings.Contains(aws.ToString(r.complete.ErrorDetails), "Task timed out after") {
		t.Fatalf("body %q, InvokeComplete %q %q", r.body(), aws.ToString(r.complete.ErrorCode), aws.ToString(r.complete.ErrorDetails))
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("ended after %s, want about the 1s timeout", d)
	}
	if r := invokeStream(t, env.client, &lambda.InvokeWithResponseStreamInput{FunctionName: aws.String("streamer"), Payload: []byte(`{"mode":"chunks"}`)}); r.body() != "chunk0;chunk1;chunk2;" {
		t.Errorf("after the timeout: %q", r.body())
	}
}

// TestStreamClientGone checks that a client leaving mid-stream does not
// stop the function (as on AWS) and that the next invocation still works.
func TestStreamClientGone(t *testing.T) {
	requireNode(t)
	dir := t.TempDir()
	writeFunction(t, dir, "streamer", map[string]string{"index.js": streamJS})
	env := startServer(t, Options{Dir: dir})
	ctx, cancel := context.WithCancel(ctxT(t))
	out, err := env.client.InvokeWithResponseStream(ctx, &lambda.InvokeWithResponseStreamInput{FunctionName: aws.String("streamer"), Payload: []byte(`{"mode":"chunks"}`)})
	if err != nil {
		t.Fatal(err)
	}
	<-out.GetStream().Events()
	cancel()
	out.GetStream().Close()
	r := invokeStream(t, env.client, &lambda.InvokeWithResponseStreamInput{FunctionName: aws.String("streamer"), Payload: []byte(`{"mode":"chunks"}`)})
	if r.body() != "chunk0;chunk1;chunk2;" {
		t.Errorf("after a client left: %q", r.body())
	}
}

// TestGoStreamingResponse runs an aws-lambda-go function that answers with
// events.LambdaFunctionURLStreamingResponse.
func TestGoStreamingResponse(t *testing.T) {
	dir := t.TempDir()
	buildGoFunction(t, filepath.Join(dir, "gofn", "bootstrap"))
	env := startServer(t, Options{Dir: dir})
	r := invokeStream(t, env.client, &lambda.InvokeWithResponseStreamInput{FunctionName: aws.String("gofn"), Payload: []byte(`{"stream":true}`)})
	if r.contentType != "application/vnd.awslambda.http-integration-response" {
		t.Errorf("content type %q", r.contentType)
	}
	body := r.body()
	prelude, rest, ok := strings.Cut(body, strings.Repeat("\x00", 8))
	if !ok || !strings.Contains(prelude, `"statusCode":201`) || !strings.Contains(prelude, `"X-From":"go"`) || rest != "one two three" {
		t.Errorf("body %q", body)
	}
	if len(r.chunks) < 3 {
		t.Errorf("%d chunks: the pieces written 50ms apart arrived together", len(r.chunks))
	}
}
