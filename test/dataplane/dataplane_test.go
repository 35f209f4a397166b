package dataplane

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"reflect"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/lambdagate/lambdagate/test/harness"
)

// Keys the stub knows. The "wrong" secret signs with a secret key the stub
// does not accept, as a revoked key would.
const (
	mainKeyID, mainSecret      = "AKIDMAIN0000000000", "main/secret+key"
	tokenKeyID, tokenSecret    = "ASIATOKEN000000000", "token/secret+key"
	sessionToken               = "FwoGZXIvYXdzEExampleSessionToken//=="
	accountID                  = "123456789012"
	walkthroughPayload         = `{"body": "gloo edge is inserting this body", "headers": {"test-header-key": "test-header-value"}, "statusCode": 201}`
	walkthroughBodyText        = "gloo edge is inserting this body"
	wrongSecret                = "not-the-secret"
	otherKeyID, otherSecret    = "AKIDOTHER000000000", "other/secret+key"
	arnFunction                = "arn:aws:lambda:us-east-1:" + accountID + ":function:arn-fn"
	maxSync, maxAsync          = 6 << 20, 1 << 20
	functionErrorPayload       = `{"errorType":"Error","errorMessage":"boom","trace":["Error: boom","    at handler (/var/task/index.js:2:9)"]}`
	functionTimeoutPayload     = `{"errorType":"Sandbox.Timedout","errorMessage":"2024-05-01T10:00:00.000Z 1f2e3d4c-0000-4000-8000-000000000000 Task timed out after 3.00 seconds"}`
	lambda413Message           = "Request must be smaller than 6291456 bytes for the InvokeFunction operation"
	lambdaHeaderLeakCheckValue = "client-secret-value"
)

// dataPlane is the gateway and stub shared by the mode and error tests.
type dataPlane struct {
	g    *harness.Gateway
	stub *harness.LambdaStub
}

func setupDataPlane(t *testing.T) *dataPlane {
	stub := harness.NewLambdaStub(t)
	stub.Accept(mainKeyID, mainSecret, "")
	stub.Accept(tokenKeyID, tokenSecret, sessionToken)
	stub.Accept(otherKeyID, otherSecret, "")

	apigw := func(fn string, kv ...any) harness.Obj {
		return harness.Dest(fn, append([]any{"unwrapAsApiGateway", true}, kv...)...)
	}
	alb := func(fn string, kv ...any) harness.Obj {
		return harness.Dest(fn, append([]any{"unwrapAsAlb", true}, kv...)...)
	}
	v2 := func(fn string) harness.Obj {
		return harness.Dest(fn, "unwrapAsApiGateway", true, "payloadFormatVersion", "2.0")
	}
	routes := []harness.Route{
		{Exact: "/pass-echo", AWS: harness.Dest("pass-echo")},
		{Exact: "/pass-empty", AWS: harness.Dest("pass-empty")},
		{Exact: "/headers", AWS: harness.Dest("headers-echo")},
		{Exact: "/transforms-req-test", AWS: harness.Dest("vector-echo", "requestTransformation", true)},
		{Prefix: "/wrap1/", AWS: harness.Dest("wrap1", "wrapAsApiGateway", true)},
		{Prefix: "/wrapseg", AWS: harness.Dest("wrap1", "wrapAsApiGateway", true)},
		{Prefix: "/wrap2/", AWS: harness.Dest("wrap2", "wrapAsApiGateway", true, "payloadFormatVersion", "2.0")},
		{Prefix: "/wrapalb/", AWS: harness.Dest("wrapalb", "wrapAsAlb", true)},
		{Prefix: "/wrapalbmulti/", AWS: harness.Dest("wrapalbmulti", "wrapAsAlb", true, "albMultiValueHeaders", true)},
		{Exact: "/walk-v1", AWS: apigw("walk")},
		{Exact: "/walk-alb", AWS: alb("walk")},
		{Exact: "/walk-v2", AWS: v2("walk")},
		{Exact: "/cookies-v1", AWS: apigw("cookies-v1")},
		{Exact: "/cookies-alb", AWS: alb("cookies-alb", "albMultiValueHeaders", true)},
		{Exact: "/cookies-v2", AWS: v2("cookies-v2")},
		{Exact: "/b64-v1", AWS: apigw("b64")},
		{Exact: "/b64-alb", AWS: alb("b64")},
		{Exact: "/fn-error", AWS: harness.Dest("fn-error")},
		{Exact: "/fn-error-unwrap", AWS: apigw("fn-error")},
		{Exact: "/fn-timeout", AWS: harness.Dest("fn-timeout")},
		{Exact: "/fn-timeout-unwrap", AWS: apigw("fn-timeout")},
		{Exact: "/throttle-then-ok", AWS: harness.Dest("throttle-then-ok")},
		{Exact: "/throttle-always", AWS: harness.Dest("throttle-always"), Timeout: "1s"},
		{Exact: "/throttle-forever", AWS: harness.Dest("throttle-forever")},
		{Exact: "/lambda-404", AWS: harness.Dest("lambda-404")},
		{Exact: "/lambda-403", AWS: harness.Dest("lambda-403")},
		{Exact: "/lambda-413", AWS: harness.Dest("lambda-413")},
		{Exact: "/lambda-500", AWS: harness.Dest("lambda-500")},
		{Exact: "/bad-notjson-v1", AWS: apigw("bad-notjson")},
		{Exact: "/bad-notjson-alb", AWS: alb("bad-notjson")},
		{Exact: "/bad-status-v1", AWS: apigw("bad-status")},
		{Exact: "/bad-status-alb", AWS: alb("bad-status")},
		{Exact: "/bad-crlf-v1", AWS: apigw("bad-crlf")},
		{Exact: "/bad-crlf-alb", AWS: alb("bad-crlf")},
		{Exact: "/bad-b64-v1", AWS: apigw("bad-b64")},
		{Exact: "/bad-b64-alb", AWS: alb("bad-b64")},
		{Exact: "/async", AWS: harness.Dest("async-fn", "invocationStyle", "ASYNC")},
		{Exact: "/big-sync", AWS: harness.Dest("big-sync")},
		{Exact: "/big-async", AWS: harness.Dest("big-async", "invocationStyle", "ASYNC")},
		{Exact: "/slow", AWS: harness.Dest("slow-fn"), Timeout: "1s"},
		{Exact: "/qualifier-latest", AWS: harness.Dest("qualifier-latest")},
		{Exact: "/token", Upstream: "up-token", AWS: harness.Dest("token-fn")},
		{Exact: "/arn", Upstream: "up-arn", AWS: harness.Dest("arn-fn")},
		{Exact: "/wrong-key", Upstream: "up-wrongkey", AWS: harness.Dest("wrongkey-fn")},
		{Exact: "/wrong-key-same-id", Upstream: "up-wrongkey-same-id", AWS: harness.Dest("wrongkey-same-id-fn")},
		{Exact: "/down", Upstream: "up-down", AWS: harness.Dest("down-fn")},
	}
	var fns []harness.Fn
	for i := range routes {
		if routes[i].Upstream == "" {
			routes[i].Upstream = "up-main"
			l := routes[i].AWS["logicalName"].(string)
			f := harness.Fn{Logical: l, Name: l}
			switch l {
			case "wrap1", "wrap2", "wrapalb", "wrapalbmulti":
				// A qualifier must never show in the event (gloo#7446).
				f.Qualifier = "prod"
			case "qualifier-latest":
				f.Name, f.Qualifier = "plain-fn", "$LATEST"
			}
			if !containsFn(fns, l) {
				fns = append(fns, f)
			}
		}
	}

	g := startGateway(t, false)
	g.Apply(t,
		harness.AWSSecret("creds-main", mainKeyID, mainSecret, ""),
		harness.AWSSecret("creds-token", tokenKeyID, tokenSecret, sessionToken),
		harness.AWSSecret("creds-wrong", otherKeyID, wrongSecret, ""),
		harness.AWSSecret("creds-wrong-same-id", mainKeyID, wrongSecret, ""),
		harness.Upstream("up-main", "creds-main", stub.URL(), fns, nil),
		harness.Upstream("up-token", "creds-token", stub.URL(), []harness.Fn{{Logical: "token-fn", Name: "token-fn"}}, nil),
		// awsAccountId turns the name into an ARN; the qualifier rides along.
		harness.Upstream("up-arn", "creds-main", stub.URL(), []harness.Fn{{Logical: "arn-fn", Name: "arn-fn", Qualifier: "live"}}, harness.Obj{"awsAccountId": accountID}),
		harness.Upstream("up-wrongkey", "creds-wrong", stub.URL(), []harness.Fn{{Logical: "wrongkey-fn", Name: "wrongkey-fn"}}, nil),
		// Same access key id as creds-main, another secret key: what a
		// typo in aws_secret_access_key gives.
		harness.Upstream("up-wrongkey-same-id", "creds-wrong-same-id", stub.URL(), []harness.Fn{{Logical: "wrongkey-same-id-fn", Name: "wrongkey-same-id-fn"}}, nil),
		harness.Upstream("up-down", "creds-main", "http://"+harness.ClosedPort(t), []harness.Fn{{Logical: "down-fn", Name: "down-fn"}}, nil),
		harness.VirtualService("dp", []string{"*"}, nil, routes...),
	)
	for _, u := range []string{"up-main", "up-token", "up-arn", "up-wrongkey", "up-wrongkey-same-id", "up-down"} {
		g.WaitState(t, "upstream", harness.Namespace, u, "Accepted")
	}
	if st, why := g.WaitState(t, "vs", harness.Namespace, "dp", "Accepted", "Warning", "Rejected"); st != "Accepted" {
		t.Fatalf("virtual service dp: %s: %s", st, why)
	}

	// Canned answers.
	for _, f := range []string{"pass-echo", "pass-empty", "headers-echo", "vector-echo", "wrap1", "wrap2", "wrapalb", "wrapalbmulti", "big-sync", "plain-fn", "token-fn", arnFunction} {
		stub.On(f, harness.Echo)
	}
	stub.On("walk", harness.LambdaOK(walkthroughPayload))
	stub.On("cookies-v1", harness.LambdaOK(`{"statusCode":200,"multiValueHeaders":{"Set-Cookie":["a=1; Path=/","b=2; HttpOnly"]},"body":"ok"}`))
	stub.On("cookies-alb", harness.LambdaOK(`{"statusCode":200,"statusDescription":"200 OK","multiValueHeaders":{"set-cookie":["a=1; Path=/","b=2; HttpOnly"]},"body":"ok","isBase64Encoded":false}`))
	stub.On("cookies-v2", harness.LambdaOK(`{"statusCode":200,"cookies":["a=1; Path=/","b=2; HttpOnly"],"body":"ok"}`))
	stub.On("b64", harness.LambdaOK(`{"statusCode":200,"headers":{"Content-Type":"application/octet-stream"},"body":"AAEC/w==","isBase64Encoded":true}`))
	stub.On("fn-error", harness.FunctionError(functionErrorPayload))
	stub.On("fn-timeout", harness.FunctionError(functionTimeoutPayload))
	stub.On("throttle-then-ok", harness.ThrottleThen(3, harness.LambdaOK(`{"ok":true}`)))
	stub.On("throttle-always", harness.ThrottleThen(1<<30, nil))
	stub.On("throttle-forever", harness.ThrottleThen(1<<30, nil))
	stub.On("lambda-404", harness.APIError(404, "ResourceNotFoundException", `{"Type":"User","Message":"Function not found: arn:aws:lambda:us-east-1:123456789012:function:lambda-404"}`))
	stub.On("lambda-403", harness.APIError(403, "AccessDeniedException", `{"Type":"User","Message":"User: arn:aws:iam::123456789012:user/gw is not authorized to perform: lambda:InvokeFunction"}`))
	stub.On("lambda-413", harness.APIError(413, "RequestTooLargeException", `{"Type":"User","message":"`+lambda413Message+`"}`))
	stub.On("lambda-500", harness.APIError(500, "ServiceException", `{"Type":"Service","Message":"internal error"}`))
	stub.On("bad-notjson", harness.LambdaOK(`this is not JSON`))
	stub.On("bad-status", harness.LambdaOK(`{"statusCode":"abc","body":"x"}`))
	stub.On("bad-crlf", harness.LambdaOK(`{"statusCode":200,"headers":{"X-Evil":"a\r\nInjected: yes"},"multiValueHeaders":{"X-Evil":["a\r\nInjected: yes"]},"body":"x"}`))
	stub.On("bad-b64", harness.LambdaOK(`{"statusCode":200,"body":"!!!not base64!!!","isBase64Encoded":true}`))
	stub.On("async-fn", harness.AsyncAccepted)
	stub.On("big-async", harness.AsyncAccepted)
	stub.On("slow-fn", harness.Slow(20*time.Second, harness.LambdaOK(`{}`)))
	stub.On("wrongkey-fn", harness.Echo)
	stub.On("wrongkey-same-id-fn", harness.Echo)
	return &dataPlane{g: g, stub: stub}
}

func containsFn(fns []harness.Fn, l string) bool {
	for _, f := range fns {
		if f.Logical == l {
			return true
		}
	}
	return false
}

// checkSigned asserts what every Invoke request must be: signed with a
// signature the stub verified, for the right invocation type.
func checkSigned(t testing.TB, rec *harness.Received, invocationType string) {
	t.Helper()
	if rec.SigErr != "" {
		t.Errorf("SigV4 verification of the Invoke request failed: %s (Authorization %q)", rec.SigErr, rec.Header.Get("Authorization"))
	}
	if got := rec.Header.Values("X-Amz-Invocation-Type"); len(got) != 1 || got[0] != invocationType {
		t.Errorf("X-Amz-Invocation-Type = %q, want [%s]", got, invocationType)
	}
}

var requestIDRe = regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$`)

// checkGatewayError asserts a gateway error response byte for byte: the
// status, the headers (extra ones such as Retry-After included) and the JSON
// body, whose only variable part is the request id.
func checkGatewayError(t testing.TB, resp *harness.RawResponse, status int, code, message string, extra http.Header) {
	t.Helper()
	if resp.StatusCode != status {
		t.Errorf("status = %d, want %d (body %s)", resp.StatusCode, status, resp.Body)
	}
	var b struct {
		RequestID string `json:"requestId"`
	}
	_ = json.Unmarshal(resp.Body, &b)
	if !requestIDRe.MatchString(b.RequestID) {
		t.Errorf("body %s: requestId %q is not a UUID", resp.Body, b.RequestID)
	}
	want, _ := json.Marshal(struct {
		Message   string `json:"message"`
		Code      string `json:"code"`
		RequestID string `json:"requestId"`
	}{message, code, b.RequestID})
	want = append(want, '\n')
	if !bytes.Equal(resp.Body, want) {
		t.Errorf("body:\n%s\nwant:\n%s", resp.Body, want)
	}
	h := http.Header{"Content-Type": {"application/json"}, "Content-Length": {strconv.Itoa(len(want))}}
	for k, v := range extra {
		h[k] = v
	}
	checkHeaders(t, resp.Header, h)
}

func TestDataPlane(t *testing.T) {
	t.Parallel()
	dp := setupDataPlane(t)
	g, stub := dp.g, dp.stub

	t.Run("passthrough", func(t *testing.T) {
		// Every byte value, so any re-encoding shows.
		var body []byte
		for i := range 256 {
			body = append(body, byte(i))
		}
		body = append(body, []byte(`{"hello":"world"}`)...)
		resp := harness.Do(t, "POST", g.URL+"/pass-echo", bytes.NewReader(body), map[string]string{"Content-Type": "text/plain"})
		rec := stub.Only(t, "pass-echo")
		checkSigned(t, rec, "RequestResponse")
		if !bytes.Equal(rec.Body, body) {
			t.Errorf("the stub received %q, want the client's body byte for byte %q", rec.Body, body)
		}
		if rec.RawPath != "/2015-03-31/functions/pass-echo/invocations" || rec.RawQuery != "" {
			t.Errorf("invoke URI = %s?%s", rec.RawPath, rec.RawQuery)
		}
		if resp.StatusCode != 200 || !bytes.Equal(resp.Body, body) {
			t.Errorf("client got %d %q, want 200 and Lambda's body", resp.StatusCode, resp.Body)
		}
		checkHeaders(t, resp.Header, http.Header{
			"Content-Type": {"application/json"}, "Content-Length": {strconv.Itoa(len(body))},
			"X-Amzn-Requestid": {"stub-pass-echo-1"}, "X-Amz-Executed-Version": {"$LATEST"},
		})
	})

	t.Run("passthrough/empty body", func(t *testing.T) {
		resp := rawRequest(t, g.Addr, "POST /pass-empty HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")
		rec := stub.Only(t, "pass-empty")
		checkSigned(t, rec, "RequestResponse")
		t.Logf("for an empty client body the stub received: %s, body %q, Content-Length header %q", rec.Transfer, rec.Body, rec.Header.Values("Content-Length"))
		if len(rec.Body) != 0 {
			t.Errorf("the stub received body %q, want empty", rec.Body)
		}
		if resp.StatusCode != 200 || len(resp.Body) != 0 {
			t.Errorf("client got %d %q, want 200 and an empty body", resp.StatusCode, resp.Body)
		}
		checkHeaders(t, resp.Header, http.Header{
			"Content-Type": {"application/json"}, "Content-Length": {"0"},
			"X-Amzn-Requestid": {"stub-pass-empty-1"}, "X-Amz-Executed-Version": {"$LATEST"},
		})
	})

	t.Run("client headers never reach Lambda", func(t *testing.T) {
		req := "POST /headers HTTP/1.1\r\n" +
			"Host: evil.example\r\n" +
			"X-Amz-Invocation-Type: Event\r\n" +
			"X-Amz-Log-Type: Tail\r\n" +
			"X-Amz-Client-Context: eyJjdXN0b20iOnsiYSI6MX19\r\n" +
			"Authorization: AWS4-HMAC-SHA256 Credential=AKIDEVIL/20200101/us-east-1/lambda/aws4_request, SignedHeaders=host, Signature=00\r\n" +
			"X-Amz-Date: 20200101T000000Z\r\n" +
			"X-Amz-Security-Token: evil-token\r\n" +
			"X-Amz-Content-Sha256: UNSIGNED-PAYLOAD\r\n" +
			"Cookie: session=" + lambdaHeaderLeakCheckValue + "\r\n" +
			"User-Agent: evil-agent/1.0\r\n" +
			"X-Forwarded-For: 10.0.0.1\r\n" +
			"X-Custom: " + lambdaHeaderLeakCheckValue + "\r\n" +
			"Connection: x-hop, close\r\n" +
			"X-Hop: " + lambdaHeaderLeakCheckValue + "\r\n" +
			"X-Amzn-Trace-Id: Root=1-5759e988-bd862e3fe1be46a994272793\r\n" +
			"Traceparent: 00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01\r\n" +
			"Content-Type: application/json\r\n" +
			"Content-Length: 2\r\n" +
			"\r\n{}"
		resp := rawRequest(t, g.Addr, req)
		if resp.StatusCode != 200 || string(resp.Body) != "{}" {
			t.Fatalf("client got %d %q, want 200 {}", resp.StatusCode, resp.Body)
		}
		rec := stub.Only(t, "headers-echo")
		checkSigned(t, rec, "RequestResponse")
		if !strings.HasPrefix(rec.Header.Get("Authorization"), "AWS4-HMAC-SHA256 Credential="+mainKeyID+"/") {
			t.Errorf("Authorization = %q, want the gateway's signature", rec.Header.Get("Authorization"))
		}
		if rec.Header.Get("X-Amz-Date") == "20200101T000000Z" {
			t.Errorf("the client's X-Amz-Date reached Lambda")
		}
		if !strings.HasPrefix(rec.Host, "127.0.0.1:") {
			t.Errorf("Host = %q, want the stub's address", rec.Host)
		}
		// Exactly these headers may reach Lambda.
		allowed := map[string]bool{"Authorization": true, "X-Amz-Date": true, "X-Amz-Invocation-Type": true,
			"Content-Length": true, "User-Agent": true, "X-Amzn-Trace-Id": true, "Traceparent": true, "Accept-Encoding": true}
		for k, v := range rec.Header {
			if !allowed[k] {
				t.Errorf("header %s: %q reached Lambda", k, v)
			}
			for _, s := range v {
				if strings.Contains(s, lambdaHeaderLeakCheckValue) || strings.Contains(s, "evil") {
					t.Errorf("client value leaked in %s: %q", k, s)
				}
			}
		}
		if got := rec.Header.Get("X-Amzn-Trace-Id"); got != "Root=1-5759e988-bd862e3fe1be46a994272793" {
			t.Errorf("X-Amzn-Trace-Id = %q, want the client's", got)
		}
		if got := rec.Header.Get("Traceparent"); got != "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01" {
			t.Errorf("Traceparent = %q, want the client's", got)
		}
	})

	t.Run("session token, qualifier and ARN names", func(t *testing.T) {
		resp := harness.Do(t, "POST", g.URL+"/token", strings.NewReader(`{"a":1}`), nil)
		if resp.StatusCode != 200 {
			t.Errorf("token route: %d %s", resp.StatusCode, resp.Body)
		}
		rec := stub.Only(t, "token-fn")
		checkSigned(t, rec, "RequestResponse")
		if got := rec.Header.Values("X-Amz-Security-Token"); len(got) != 1 || got[0] != sessionToken {
			t.Errorf("X-Amz-Security-Token = %q, want the secret's aws_session_token", got)
		}
		if !strings.Contains(rec.Header.Get("Authorization"), "x-amz-security-token") {
			t.Errorf("the session token is not signed: %s", rec.Header.Get("Authorization"))
		}

		resp = harness.Do(t, "POST", g.URL+"/arn", strings.NewReader(`{"a":2}`), nil)
		if resp.StatusCode != 200 || string(resp.Body) != `{"a":2}` {
			t.Errorf("arn route: %d %s", resp.StatusCode, resp.Body)
		}
		rec = stub.Only(t, arnFunction)
		checkSigned(t, rec, "RequestResponse")
		if want := "/2015-03-31/functions/arn%3Aaws%3Alambda%3Aus-east-1%3A" + accountID + "%3Afunction%3Aarn-fn/invocations"; rec.RawPath != want {
			t.Errorf("invoke path = %s, want %s", rec.RawPath, want)
		}
		if rec.RawQuery != "Qualifier=live" {
			t.Errorf("query = %q, want Qualifier=live", rec.RawQuery)
		}

		resp = harness.Do(t, "POST", g.URL+"/qualifier-latest", strings.NewReader(`{}`), nil)
		if resp.StatusCode != 200 {
			t.Errorf("qualifier route: %d %s", resp.StatusCode, resp.Body)
		}
		rec = stub.Only(t, "plain-fn")
		checkSigned(t, rec, "RequestResponse")
		if rec.RawQuery != "Qualifier=%24LATEST" {
			t.Errorf("query = %q, want Qualifier=%%24LATEST", rec.RawQuery)
		}
	})

	t.Run("requestTransformation/gloo exact vector", func(t *testing.T) {
		// The request of Gloo's e2e testLambdaTransformations, exactly
		// as Go's client sent it there.
		resp := rawRequest(t, g.Addr, "POST /transforms-req-test?foo=bar HTTP/1.1\r\n"+
			"Host: test\r\n"+
			"User-Agent: Go-http-client/1.1\r\n"+
			"Content-Length: 6\r\n"+
			"Content-Type: application/octet-stream\r\n"+
			"Accept-Encoding: gzip\r\n"+
			"\r\n"+
			`"test"`)
		if resp.StatusCode != 200 {
			t.Fatalf("status %d: %s", resp.StatusCode, resp.Body)
		}
		rec := stub.Only(t, "vector-echo")
		checkSigned(t, rec, "RequestResponse")
		var got map[string]any
		if err := json.Unmarshal(rec.Body, &got); err != nil {
			t.Fatalf("payload is not JSON: %v: %s", err, rec.Body)
		}
		// The vector was taken with request ids off; lambdagate always
		// has one (docs/compatibility.md), so it is checked apart.
		if h, ok := got["headers"].(map[string]any); ok {
			if id, _ := h["x-request-id"].(string); !requestIDRe.MatchString(id) {
				t.Errorf("headers.x-request-id = %v, want the gateway's request id", h["x-request-id"])
			}
			delete(h, "x-request-id")
		}
		var want map[string]any
		_ = json.Unmarshal([]byte(`{"body":"\"test\"","headers":{":authority":"test",":method":"POST",":path":"/transforms-req-test?foo=bar",":scheme":"http","accept-encoding":"gzip","content-length":"6","content-type":"application/octet-stream","user-agent":"Go-http-client/1.1","x-forwarded-proto":"http"},"httpMethod":"POST","multiValueHeaders":{},"multiValueQueryStringParameters":{},"path":"/transforms-req-test","queryString":"foo=bar","queryStringParameters":{"foo":"bar"}}`), &want)
		if !reflect.DeepEqual(got, want) {
			w, _ := json.Marshal(want)
			g, _ := json.Marshal(got)
			t.Errorf("payload:\n%s\nwant (Gloo's vector):\n%s", g, w)
		}
	})

	wrapCases := []struct {
		name, path, function string
		check                func(t *testing.T, ev map[string]any)
	}{
		{"wrapAsApiGateway 1.0", "/wrap1/a/b?x=1&x=2&y=%20z&p=a+b%2B", "wrap1", func(t *testing.T, ev map[string]any) {
			expect(t, ev, "version", "1.0")
			expect(t, ev, "path", "/wrap1/a/b")
			expect(t, ev, "httpMethod", "POST")
			expect(t, ev, "resource", "/wrap1/{proxy+}")
			expect(t, ev, "pathParameters", map[string]any{"proxy": "a/b"})
			expect(t, ev, "headers.X-Multi", "b")
			expect(t, ev, "multiValueHeaders.X-Multi", []any{"a", "b"})
			expect(t, ev, "headers.Cookie", "c=1; d=2")
			expect(t, ev, "queryStringParameters", map[string]any{"x": "2", "y": " z", "p": "a b+"})
			expect(t, ev, "multiValueQueryStringParameters", map[string]any{"x": []any{"1", "2"}, "y": []any{" z"}, "p": []any{"a b+"}})
			expect(t, ev, "requestContext.identity.sourceIp", "127.0.0.1")
			expect(t, ev, "requestContext.httpMethod", "POST")
			expect(t, ev, "body", `{"k":"v"}`)
			expect(t, ev, "isBase64Encoded", false)
		}},
		{"wrapAsApiGateway 2.0", "/wrap2/a/b?x=1&x=2&y=%20z&p=a+b%2B", "wrap2", func(t *testing.T, ev map[string]any) {
			expect(t, ev, "version", "2.0")
			expect(t, ev, "rawPath", "/wrap2/a/b")
			expect(t, ev, "rawQueryString", "x=1&x=2&y=%20z&p=a+b%2B")
			expect(t, ev, "headers.x-multi", "a,b")
			expect(t, ev, "headers.cookie", nil)
			expect(t, ev, "cookies", []any{"c=1", "d=2"})
			expect(t, ev, "queryStringParameters", map[string]any{"x": "1,2", "y": " z", "p": "a b+"})
			expect(t, ev, "requestContext.http.method", "POST")
			expect(t, ev, "requestContext.http.path", "/wrap2/a/b")
			expect(t, ev, "requestContext.http.sourceIp", "127.0.0.1")
			expect(t, ev, "body", `{"k":"v"}`)
			expect(t, ev, "isBase64Encoded", false)
		}},
		{"wrapAsAlb", "/wrapalb/a/b?x=1&x=2&y=%20z&p=a+b%2B", "wrapalb", func(t *testing.T, ev map[string]any) {
			expect(t, ev, "path", "/wrapalb/a/b")
			expect(t, ev, "httpMethod", "POST")
			expect(t, ev, "headers.x-multi", "b")
			expect(t, ev, "multiValueHeaders", nil)
			expect(t, ev, "queryStringParameters", map[string]any{"x": "2", "y": "%20z", "p": "a+b%2B"})
			expect(t, ev, "headers.x-forwarded-for", "127.0.0.1")
			expect(t, ev, "requestContext.elb.targetGroupArn", "arn:aws:elasticloadbalancing:us-east-1:123456789012:targetgroup/lambdagate/0000000000000000")
			expect(t, ev, "body", `{"k":"v"}`)
			expect(t, ev, "isBase64Encoded", false)
		}},
		{"wrapAsAlb multi-value", "/wrapalbmulti/a/b?x=1&x=2&y=%20z&p=a+b%2B", "wrapalbmulti", func(t *testing.T, ev map[string]any) {
			expect(t, ev, "path", "/wrapalbmulti/a/b")
			expect(t, ev, "headers", nil)
			expect(t, ev, "multiValueHeaders.x-multi", []any{"a", "b"})
			expect(t, ev, "multiValueQueryStringParameters", map[string]any{"x": []any{"1", "2"}, "y": []any{"%20z"}, "p": []any{"a+b%2B"}})
		}},
	}
	for _, tc := range wrapCases {
		t.Run(tc.name, func(t *testing.T) {
			resp := rawRequest(t, g.Addr, "POST "+tc.path+" HTTP/1.1\r\nHost: api.example.com\r\nX-Multi: a\r\nX-Multi: b\r\nCookie: c=1; d=2\r\nContent-Type: application/json\r\nContent-Length: 9\r\nConnection: close\r\n\r\n"+`{"k":"v"}`)
			if resp.StatusCode != 200 {
				t.Fatalf("status %d: %s", resp.StatusCode, resp.Body)
			}
			rec := stub.Only(t, tc.function)
			checkSigned(t, rec, "RequestResponse")
			if rec.RawQuery != "Qualifier=prod" {
				t.Errorf("invoke query = %q, want Qualifier=prod", rec.RawQuery)
			}
			// gloo#7446: the invoke path and qualifier must not leak.
			for _, leak := range []string{"Qualifier", "2015-03-31", "invocations", "prod"} {
				if bytes.Contains(rec.Body, []byte(leak)) {
					t.Errorf("the event contains %q: %s", leak, rec.Body)
				}
			}
			var ev map[string]any
			if err := json.Unmarshal(rec.Body, &ev); err != nil {
				t.Fatalf("event is not JSON: %v: %s", err, rec.Body)
			}
			tc.check(t, ev)
			// The route passes Lambda's answer (the echoed event) through.
			if !bytes.Equal(resp.Body, rec.Body) {
				t.Errorf("client body %q, want the event the stub echoed", resp.Body)
			}
			checkHeaders(t, resp.Header, http.Header{
				"Content-Type": {"application/json"}, "Content-Length": {strconv.Itoa(len(rec.Body))},
				"X-Amzn-Requestid": {"stub-" + tc.function + "-1"}, "X-Amz-Executed-Version": {"$LATEST"},
			})
			if t.Failed() {
				t.Logf("event: %s", rec.Body)
			}
		})
	}

	// {proxy+} holds whole segments: prefix /wrapseg serves /wrapsegx/y as
	// the root greedy resource and /wrapseg itself as its own resource.
	t.Run("proxy holds whole segments", func(t *testing.T) {
		for _, tc := range []struct {
			path, resource string
			params         any
		}{
			{"/wrapseg/a/b", "/wrapseg/{proxy+}", map[string]any{"proxy": "a/b"}},
			{"/wrapsegx/y", "/{proxy+}", map[string]any{"proxy": "wrapsegx/y"}},
			{"/wrapseg", "/wrapseg", nil},
		} {
			t.Run(tc.path, func(t *testing.T) {
				stub.Reset("wrap1")
				resp := harness.Do(t, "GET", g.URL+tc.path, nil, nil)
				if resp.StatusCode != 200 {
					t.Fatalf("status %d: %s", resp.StatusCode, resp.Body)
				}
				var ev map[string]any
				if err := json.Unmarshal(stub.Only(t, "wrap1").Body, &ev); err != nil {
					t.Fatal(err)
				}
				expect(t, ev, "path", tc.path)
				expect(t, ev, "resource", tc.resource)
				expect(t, ev, "requestContext.resourcePath", tc.resource)
				expect(t, ev, "pathParameters", tc.params)
			})
		}
	})

	unwrapCases := []struct {
		name, path string
		status     int
		header     http.Header
		body       string
	}{
		{"unwrapAsApiGateway/walkthrough", "/walk-v1", 201, http.Header{"Test-Header-Key": {"test-header-value"}, "Content-Length": {"32"}}, walkthroughBodyText},
		{"unwrapAsAlb/walkthrough", "/walk-alb", 201, http.Header{"Test-Header-Key": {"test-header-value"}, "Content-Length": {"32"}}, walkthroughBodyText},
		{"unwrapAsApiGateway 2.0/walkthrough", "/walk-v2", 201, http.Header{"Test-Header-Key": {"test-header-value"}, "Content-Length": {"32"}}, walkthroughBodyText},
		{"unwrapAsApiGateway/set-cookie", "/cookies-v1", 200, http.Header{"Set-Cookie": {"a=1; Path=/", "b=2; HttpOnly"}, "Content-Length": {"2"}}, "ok"},
		{"unwrapAsAlb/set-cookie multi-value", "/cookies-alb", 200, http.Header{"Set-Cookie": {"a=1; Path=/", "b=2; HttpOnly"}, "Content-Length": {"2"}}, "ok"},
		{"unwrapAsApiGateway 2.0/cookies", "/cookies-v2", 200, http.Header{"Set-Cookie": {"a=1; Path=/", "b=2; HttpOnly"}, "Content-Length": {"2"}}, "ok"},
		{"unwrapAsApiGateway/base64", "/b64-v1", 200, http.Header{"Content-Type": {"application/octet-stream"}, "Content-Length": {"4"}}, "\x00\x01\x02\xff"},
		{"unwrapAsAlb/base64", "/b64-alb", 200, http.Header{"Content-Type": {"application/octet-stream"}, "Content-Length": {"4"}}, "\x00\x01\x02\xff"},
	}
	for _, tc := range unwrapCases {
		t.Run(tc.name, func(t *testing.T) {
			// The walkthrough's curl.
			resp := rawRequest(t, g.Addr, "POST "+tc.path+" HTTP/1.1\r\nHost: localhost\r\nUser-Agent: curl/8.5.0\r\nAccept: */*\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: "+strconv.Itoa(len(walkthroughPayload))+"\r\nConnection: close\r\n\r\n"+walkthroughPayload)
			if resp.StatusCode != tc.status {
				t.Errorf("status = %d, want %d (body %q)", resp.StatusCode, tc.status, resp.Body)
			}
			if string(resp.Body) != tc.body {
				t.Errorf("body = %q, want %q", resp.Body, tc.body)
			}
			checkHeaders(t, resp.Header, tc.header)
		})
	}

	type errCase struct {
		name, path string
		body       io.Reader
		status     int
		code, msg  string
		extra      http.Header
		functions  []string // functions the stub must not have been called for (nil: no check)
	}
	errCases := []errCase{
		{name: "function error under unwrap", path: "/fn-error-unwrap", status: 502, code: "FunctionError", msg: "the function returned an error"},
		{name: "function timeout under unwrap", path: "/fn-timeout-unwrap", status: 504, code: "FunctionTimeout", msg: "the function timed out"},
		{name: "lambda 404", path: "/lambda-404", status: 502, code: "FunctionNotFound", msg: "the function or its qualifier does not exist"},
		{name: "lambda 403", path: "/lambda-403", status: 502, code: "AccessDenied", msg: "Lambda refused the gateway's credentials"},
		{name: "wrong secret key", path: "/wrong-key", status: 502, code: "AccessDenied", msg: "Lambda refused the gateway's credentials"},
		{name: "lambda 413", path: "/lambda-413", status: 413, code: "PayloadTooLarge", msg: lambda413Message},
		{name: "lambda 500", path: "/lambda-500", status: 502, code: "LambdaError", msg: "Lambda error"},
		{name: "lambda endpoint down", path: "/down", status: 502, code: "LambdaUnreachable", msg: "Lambda endpoint unreachable"},
		{name: "slower than the route timeout", path: "/slow", status: 504, code: "Timeout", msg: "the route timeout passed before the function answered"},
		{name: "no route", path: "/no-such-route", status: 404, code: "NoRoute", msg: "no route matches this request"},
		{name: "body over 6 MB sync", path: "/big-sync", body: bytes.NewReader(make([]byte, maxSync+1)), status: 413, code: "PayloadTooLarge",
			msg: "request body larger than 6144 KiB, Lambda's limit for this invocation type", functions: []string{"big-sync"}},
		{name: "body over 1 MB async", path: "/big-async", body: bytes.NewReader(make([]byte, maxAsync+1)), status: 413, code: "PayloadTooLarge",
			msg: "request body larger than 1024 KiB, Lambda's limit for this invocation type", functions: []string{"big-async"}},
		// Without a Content-Length the gateway has to count.
		{name: "chunked body over 1 MB async", path: "/big-async", body: io.MultiReader(bytes.NewReader(make([]byte, maxAsync)), strings.NewReader("x")), status: 413, code: "PayloadTooLarge",
			msg: "request body larger than 1024 KiB, Lambda's limit for this invocation type", functions: []string{"big-async"}},
	}
	for _, tc := range errCases {
		t.Run("error/"+tc.name, func(t *testing.T) {
			for _, f := range tc.functions {
				stub.Reset(f)
			}
			body := tc.body
			if body == nil {
				body = strings.NewReader(`{"q":1}`)
			}
			resp := harness.Do(t, "POST", g.URL+tc.path, body, nil)
			checkGatewayError(t, resp, tc.status, tc.code, tc.msg, tc.extra)
			for _, f := range tc.functions {
				if n := len(stub.Requests(f)); n != 0 {
					t.Errorf("the stub received %d requests for %s, want none: the limit must be enforced before invoking", n, f)
				}
			}
		})
	}

	t.Run("error/wrong secret key is refused by the stub", func(t *testing.T) {
		recs := stub.Requests("wrongkey-fn")
		if len(recs) != 1 || recs[0].SigErr != "signature mismatch" {
			t.Errorf("the stub's verification of %d requests: %+v, want one signature mismatch", len(recs), recs)
		}
	})

	t.Run("error/wrong secret key with the access key id of a good one", func(t *testing.T) {
		// The pass-echo calls above signed with creds-main that day.
		// aws-sdk-go-v2's v4.Signer caches the derived signing key per
		// region/service, checking only the access key id and the day,
		// so a shared Signer signs this upstream with creds-main's key.
		resp := harness.Do(t, "POST", g.URL+"/wrong-key-same-id", strings.NewReader(`{"q":1}`), nil)
		recs := stub.Requests("wrongkey-same-id-fn")
		if len(recs) != 1 || recs[0].SigErr != "signature mismatch" {
			var got []string
			for _, r := range recs {
				got = append(got, fmt.Sprintf("verified=%v secret=%q", r.SigErr == "", r.Secret))
			}
			t.Errorf("the request was not signed with the upstream's own secret key (stub saw %v): the gateway signs with a signing key derived from another secret that has the same access key id (shared v4.Signer key cache in internal/lambda)", got)
		}
		checkGatewayError(t, resp, 502, "AccessDenied", "Lambda refused the gateway's credentials", nil)
	})

	t.Run("error/function error passthrough", func(t *testing.T) {
		resp := harness.Do(t, "POST", g.URL+"/fn-error", strings.NewReader(`{}`), nil)
		if resp.StatusCode != 502 || string(resp.Body) != functionErrorPayload {
			t.Errorf("got %d %q, want 502 and the function's error payload", resp.StatusCode, resp.Body)
		}
		// Lambda's X-Amz-Function-Error value is Handled or Unhandled
		// (API_Invoke); a client of the raw Invoke API reads it so.
		checkHeaders(t, resp.Header, http.Header{"Content-Type": {"application/json"}, "Content-Length": {strconv.Itoa(len(functionErrorPayload))}, "X-Amz-Function-Error": {"Unhandled"}})
	})

	t.Run("error/function timeout passthrough", func(t *testing.T) {
		resp := harness.Do(t, "POST", g.URL+"/fn-timeout", strings.NewReader(`{}`), nil)
		if resp.StatusCode != 504 || string(resp.Body) != functionTimeoutPayload {
			t.Errorf("got %d %q, want 504 and the function's error payload", resp.StatusCode, resp.Body)
		}
		checkHeaders(t, resp.Header, http.Header{"Content-Type": {"application/json"}, "Content-Length": {strconv.Itoa(len(functionTimeoutPayload))}, "X-Amz-Function-Error": {"Unhandled"}})
	})

	t.Run("error/throttled then ok is retried", func(t *testing.T) {
		resp := harness.Do(t, "POST", g.URL+"/throttle-then-ok", strings.NewReader(`{"r":1}`), nil)
		if resp.StatusCode != 200 || string(resp.Body) != `{"ok":true}` {
			t.Errorf("got %d %q, want 200 {\"ok\":true} after retries", resp.StatusCode, resp.Body)
		}
		recs := stub.Requests("throttle-then-ok")
		if len(recs) != 4 {
			t.Errorf("the stub received %d attempts, want 4 (3 throttled, then success)", len(recs))
		}
		for _, rec := range recs {
			checkSigned(t, rec, "RequestResponse")
			if string(rec.Body) != `{"r":1}` {
				t.Errorf("retry body = %q", rec.Body)
			}
		}
	})

	t.Run("error/throttled until the route timeout", func(t *testing.T) {
		start := time.Now()
		resp := harness.Do(t, "POST", g.URL+"/throttle-always", strings.NewReader(`{}`), nil)
		elapsed := time.Since(start)
		checkGatewayError(t, resp, 429, "Throttled", "the function is throttled; retry later", http.Header{"Retry-After": {"1"}})
		if n := len(stub.Requests("throttle-always")); n < 2 {
			t.Errorf("the stub received %d attempts, want retries within the 1s route timeout", n)
		}
		// A generous bound: the answer must come within the 1s route
		// timeout (or the shorter retry budget), not at the 15s default.
		if elapsed > 6*time.Second {
			t.Errorf("429 came after %s; the route timeout is 1s", elapsed)
		}
	})

	// A throttle that cannot clear (reserved concurrency 0) is answered
	// after the small retry budget (3 retries, at most 1s), not at the
	// default 15s route timeout.
	t.Run("error/throttled for good answers 429 quickly", func(t *testing.T) {
		start := time.Now()
		resp := harness.Do(t, "POST", g.URL+"/throttle-forever", strings.NewReader(`{}`), nil)
		elapsed := time.Since(start)
		checkGatewayError(t, resp, 429, "Throttled", "the function is throttled; retry later", http.Header{"Retry-After": {"1"}})
		if n := len(stub.Requests("throttle-forever")); n != 4 {
			t.Errorf("the stub received %d attempts, want 4 (the first and 3 retries)", n)
		}
		if elapsed > 3*time.Second {
			t.Errorf("429 came after %s, want it within the 1s retry budget", elapsed)
		}
	})

	malformed := []struct {
		name, path, problem string
	}{
		{"not JSON/apigateway", "/bad-notjson-v1", "JSON"},
		{"not JSON/alb", "/bad-notjson-alb", "JSON"},
		{"statusCode abc/apigateway", "/bad-status-v1", "statusCode"},
		{"statusCode abc/alb", "/bad-status-alb", "statusCode"},
		{"header with CRLF/apigateway", "/bad-crlf-v1", "X-Evil"},
		{"header with CRLF/alb", "/bad-crlf-alb", "X-Evil"},
		{"bad base64/apigateway", "/bad-b64-v1", "base64"},
		{"bad base64/alb", "/bad-b64-alb", "base64"},
	}
	for _, tc := range malformed {
		t.Run("error/malformed output/"+tc.name, func(t *testing.T) {
			resp := harness.Do(t, "POST", g.URL+tc.path, strings.NewReader(`{}`), nil)
			var b struct{ Message, Code string }
			_ = json.Unmarshal(resp.Body, &b)
			if !strings.HasPrefix(b.Message, "malformed Lambda response: ") || !strings.Contains(strings.ToLower(b.Message), strings.ToLower(tc.problem)) {
				t.Errorf("message %q does not name the problem (%s)", b.Message, tc.problem)
			}
			checkGatewayError(t, resp, 502, "MalformedLambdaResponse", b.Message, nil)
			for k, v := range resp.Header {
				if strings.EqualFold(k, "X-Evil") || strings.EqualFold(k, "Injected") {
					t.Errorf("the bad header reached the client: %s: %q", k, v)
				}
			}
			if bytes.Contains(resp.Body, []byte("Injected")) {
				t.Errorf("the bad header value is echoed in the body: %s", resp.Body)
			}
		})
	}

	// net/http counts a small body itself (no Content-Length formatting
	// per request); a larger one and a HEAD answer are declared by the
	// gateway. Either way the client sees Content-Length, never chunks.
	t.Run("unwrapped answers carry Content-Length", func(t *testing.T) {
		for _, tc := range []struct {
			name, method string
			size         int
		}{{"small", "POST", 9}, {"over 2 KiB", "POST", 3000}, {"HEAD", "HEAD", 9}} {
			t.Run(tc.name, func(t *testing.T) {
				body := `{"k":"` + strings.Repeat("v", tc.size-8) + `"}`
				stub.Reset("wrap1")
				c, err := net.DialTimeout("tcp", g.Addr, 5*time.Second)
				if err != nil {
					t.Fatal(err)
				}
				defer c.Close()
				_ = c.SetDeadline(time.Now().Add(20 * time.Second))
				fmt.Fprintf(c, "%s /wrap1/a HTTP/1.1\r\nHost: api.example.com\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n%s", tc.method, len(body), body)
				resp, err := http.ReadResponse(bufio.NewReader(c), &http.Request{Method: tc.method})
				if err != nil {
					t.Fatal(err)
				}
				got, _ := io.ReadAll(resp.Body)
				stub.Only(t, "wrap1")
				if resp.StatusCode != 200 || len(resp.TransferEncoding) != 0 || resp.Header.Get("Content-Length") == "" {
					t.Fatalf("status %d, Transfer-Encoding %v, headers %v", resp.StatusCode, resp.TransferEncoding, resp.Header)
				}
				n, _ := strconv.Atoi(resp.Header.Get("Content-Length"))
				if tc.method == "HEAD" {
					if len(got) != 0 || n < 100 {
						t.Fatalf("HEAD: body %q, Content-Length %d: want no body and the event's length", got, n)
					}
					return
				}
				if n != len(got) || n < tc.size {
					t.Fatalf("Content-Length %d, body %d bytes", n, len(got))
				}
			})
		}
	})

	t.Run("async", func(t *testing.T) {
		resp := harness.Do(t, "POST", g.URL+"/async", strings.NewReader(`{"e":1}`), nil)
		if resp.StatusCode != 202 || len(resp.Body) != 0 {
			t.Errorf("got %d %q, want 202 and an empty body", resp.StatusCode, resp.Body)
		}
		checkHeaders(t, resp.Header, http.Header{"Content-Length": {"0"}})
		rec := stub.Only(t, "async-fn")
		checkSigned(t, rec, "Event")
		if string(rec.Body) != `{"e":1}` {
			t.Errorf("the stub received %q", rec.Body)
		}
	})

	t.Run("payload limits are inclusive", func(t *testing.T) {
		stub.Reset("big-async")
		resp := harness.Do(t, "POST", g.URL+"/big-async", bytes.NewReader(bytes.Repeat([]byte("a"), maxAsync)), nil)
		if resp.StatusCode != 202 {
			t.Errorf("exactly 1 MiB async: %d %s, want 202", resp.StatusCode, resp.Body)
		}
		if rec := stub.Only(t, "big-async"); len(rec.Body) != maxAsync {
			t.Errorf("the stub received %d bytes", len(rec.Body))
		}
		stub.Reset("big-sync")
		resp = harness.Do(t, "POST", g.URL+"/big-sync", bytes.NewReader(bytes.Repeat([]byte("b"), maxSync)), nil)
		if resp.StatusCode != 200 || len(resp.Body) != maxSync {
			t.Errorf("exactly 6 MiB sync: %d (%d bytes), want 200 and the echo", resp.StatusCode, len(resp.Body))
		}
	})

	t.Run("every other Invoke request verified", func(t *testing.T) {
		for _, rec := range stub.All() {
			if rec.Function == "wrongkey-fn" || rec.Function == "wrongkey-same-id-fn" {
				continue
			}
			if rec.SigErr != "" || rec.Function == "" {
				t.Errorf("request %s?%s for %q: signature %q", rec.RawPath, rec.RawQuery, rec.Function, rec.SigErr)
			}
		}
	})

	t.Run("h2c", func(t *testing.T) {
		resp := h2cDo(t, g.Addr, "/pass-echo", `{"h2":true}`)
		if resp.ProtoMajor != 2 {
			t.Errorf("protocol %s, want HTTP/2", resp.Proto)
		}
		if resp.StatusCode != 200 || string(resp.Body) != `{"h2":true}` {
			t.Errorf("got %d %q", resp.StatusCode, resp.Body)
		}
		found := false
		for _, rec := range stub.Requests("pass-echo") {
			if string(rec.Body) == `{"h2":true}` {
				found = true
				checkSigned(t, rec, "RequestResponse")
			}
		}
		if !found {
			t.Errorf("the h2c request did not reach the stub")
		}
	})
}

// expect asserts the value at a dotted path of a decoded JSON event; want
// nil means absent or null.
func expect(t *testing.T, ev map[string]any, path string, want any) {
	t.Helper()
	var cur any = ev
	for _, k := range strings.Split(path, ".") {
		m, ok := cur.(map[string]any)
		if !ok {
			cur = nil
			break
		}
		cur = m[k]
	}
	if !reflect.DeepEqual(cur, want) {
		t.Errorf("event %s = %s, want %s", path, jsonString(cur), jsonString(want))
	}
}

func jsonString(v any) string {
	b, err := json.Marshal(v)
	if err != nil {
		return fmt.Sprint(v)
	}
	return string(b)
}
