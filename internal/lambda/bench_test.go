package lambda

import (
	"context"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"encoding/hex"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/lambdagate/lambdagate/bench/rawstub"
)

// BenchmarkSign signs an Invoke request: "sdk" with the SDK's v4.Signer
// (one per key, its signing key cached per day) on an http.Request,
// "lambdagate" with the invoker's own signer (sigv4.go) writing the request
// head, which must pay for itself here to be used.
func BenchmarkSign(b *testing.B) {
	t := &Target{FunctionName: "arn:aws:lambda:us-east-1:123456789012:function:bench", Qualifier: "live", Region: "us-east-1",
		Endpoint: &url.URL{Scheme: "https", Host: "lambda.us-east-1.amazonaws.com"}}
	t.Prepare()
	creds := aws.Credentials{AccessKeyID: "AKIDBENCHMARK", SecretAccessKey: "benchmark-secret-key", SessionToken: "token"}
	payload := []byte(`{"hello":"world","n":42}`)
	sum := sha256.Sum256(payload)
	hash := hex.EncodeToString(sum[:])
	now := time.Now()
	ctx := context.Background()
	newReq := func() *http.Request {
		u := *t.invokeURL
		req := &http.Request{Method: http.MethodPost, URL: &u, Host: t.host, Header: make(http.Header, 8), ContentLength: int64(len(payload))}
		req.Header["X-Amz-Invocation-Type"] = []string{"RequestResponse"}
		return req
	}
	b.Run("sdk", func(b *testing.B) {
		s := v4.NewSigner()
		b.ReportAllocs()
		for b.Loop() {
			if err := s.SignHTTP(ctx, creds, newReq(), hash, "lambda", t.Region, now); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("lambdagate", func(b *testing.B) {
		// What the invoker's client does: the whole request head, signed,
		// appended into the connection's reused buffer.
		iv := NewInvoker(Options{})
		iv.now = func() time.Time { return now }
		var buf []byte
		b.ReportAllocs()
		for b.Loop() {
			buf = iv.appendRequest(buf[:0], t, payload, []byte(hash), creds, nil)
		}
	})
}

// BenchmarkCredentials is the per-request credentials lookup of a static
// (secret-backed) upstream.
func BenchmarkCredentials(b *testing.B) {
	p := aws.NewCredentialsCache(credentials.NewStaticCredentialsProvider("AKID", "secret", ""))
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		if _, err := p.Retrieve(ctx); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkInvoke is one signed Invoke over loopback to a raw stub, with
// each client in the same run: "lambdagate" (h1.go) must pay for itself
// against "net/http" here to be the default.
func BenchmarkInvoke(b *testing.B) {
	base := rawstub.Start(b)
	payload := []byte(`{"hello":"world","n":42}`)
	extra := []Header{{"Traceparent", "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"}}
	for _, client := range []string{ClientLambdagate, ClientNetHTTP} {
		b.Run(strings.ReplaceAll(client, "/", ""), func(b *testing.B) {
			iv := NewInvoker(Options{Client: client})
			defer iv.CloseIdle()
			tg := target(b, base, 5*time.Second)
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			b.ReportAllocs()
			for b.Loop() {
				if _, err := iv.Invoke(ctx, tg, payload, extra); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkInvokeTLS is BenchmarkInvoke against an HTTPS endpoint, the
// production path (AWS endpoints are HTTPS). The stub is net/http's
// server in the same process, so its allocations are counted too; compare
// the clients with each other, not with BenchmarkInvoke.
func BenchmarkInvokeTLS(b *testing.B) {
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		w.Header().Set("Content-Type", "application/json")
		_, _ = io.WriteString(w, `{"ok":true,"message":"hello from the stub"}`)
	}))
	srv.StartTLS()
	defer srv.Close()
	pool := x509.NewCertPool()
	pool.AddCert(srv.Certificate())
	payload := []byte(`{"hello":"world","n":42}`)
	for _, client := range []string{ClientLambdagate, ClientNetHTTP} {
		b.Run(strings.ReplaceAll(client, "/", ""), func(b *testing.B) {
			iv := NewInvoker(Options{Client: client, TLSConfig: &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}})
			defer iv.CloseIdle()
			tg := target(b, srv.URL, 5*time.Second)
			b.ReportAllocs()
			for b.Loop() {
				if _, err := iv.Invoke(context.Background(), tg, payload, nil); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
