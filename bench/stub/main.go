// Command stub is the benchmark's Lambda API: it answers Invoke
// (POST /2015-03-31/functions/{name}/invocations) with a small fixed JSON
// payload as fast as net/http allows. It reads and parses the request (the
// path and the JSON body) but checks no signature, so the figures measure
// the proxy in front of it, not the stub.
//
// Functions whose name starts with "apigw" answer an API Gateway proxy
// response (what unwrapAsApiGateway expects); every other name answers the
// plain payload. Any other path is answered like an invoke of "plain", so
// plain reverse proxies can forward wrk's path unchanged.
package main

import (
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"os"
	"strings"
)

var (
	plain = []byte(`{"ok":true,"message":"hello from the stub"}`)
	apigw = []byte(`{"statusCode":200,"headers":{"Content-Type":"application/json"},"body":"{\"ok\":true,\"message\":\"hello from the stub\"}","isBase64Encoded":false}`)
)

func main() {
	addr := flag.String("addr", "127.0.0.1:8181", "listen address")
	flag.Parse()
	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Fprintln(os.Stderr, "stub listening on", ln.Addr())
	log.Fatal(http.Serve(ln, http.HandlerFunc(invoke)))
}

func invoke(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(r.Body)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	// Parse like a runtime would: the payload must be JSON.
	if len(body) > 0 && !json.Valid(body) {
		w.Header()["Content-Type"] = []string{"application/json"}
		w.WriteHeader(http.StatusBadRequest)
		_, _ = w.Write([]byte(`{"Type":"User","message":"Could not parse request body into json"}`))
		return
	}
	out := plain
	if strings.HasPrefix(functionName(r.URL.Path), "apigw") {
		out = apigw
	}
	h := w.Header()
	h["Content-Type"] = []string{"application/json"}
	h["X-Amzn-Requestid"] = []string{"00000000-0000-0000-0000-000000000000"}
	h["X-Amz-Executed-Version"] = []string{"$LATEST"}
	_, _ = w.Write(out)
}

// functionName returns {name} of /2015-03-31/functions/{name}/invocations.
func functionName(p string) string {
	const pre = "/2015-03-31/functions/"
	if !strings.HasPrefix(p, pre) {
		return ""
	}
	name, _, _ := strings.Cut(p[len(pre):], "/")
	return name
}
