// Package dataplane tests the data plane end to end: the real
// "lambdagate serve" binary on loopback, configured with the CLI, in front
// of a Lambda API test server that verifies every SigV4 signature with the
// AWS SDK signer and answers with canned responses.
package dataplane

import (
	"net/http"
	"sort"
	"strings"
	"testing"

	"github.com/lambdagate/lambdagate/test/harness"
)

func TestMain(m *testing.M) { harness.Main(m, nil) }

// startGateway runs "lambdagate serve" with discovery off so hand-written
// lambdaFunctions stay as they are. withTLS also opens the HTTPS listener.
func startGateway(t *testing.T, withTLS bool) *harness.Gateway {
	t.Helper()
	return harness.Start(t, harness.Options{TLS: withTLS, Args: harness.NoDiscovery})
}

// rawRequest writes req byte for byte on a new connection to addr and
// reads one response, so the gateway sees exactly these headers (Go's
// client would add its own).
func rawRequest(t testing.TB, addr, req string) *harness.RawResponse {
	t.Helper()
	resp, err := harness.RawExchange(t, addr, req)
	if err != nil {
		t.Fatalf("raw request to %s: %v", addr, err)
	}
	return resp
}

// headerDump prints a header set in a stable order for messages, without
// Date, which changes every second.
func headerDump(h http.Header) string {
	var lines []string
	for k, vs := range h {
		if k == "Date" {
			continue
		}
		for _, v := range vs {
			lines = append(lines, k+": "+v)
		}
	}
	sort.Strings(lines)
	return strings.Join(lines, "\n")
}

// checkHeaders asserts that the response headers are exactly want, apart
// from Date (which must be there).
func checkHeaders(t testing.TB, got http.Header, want http.Header) {
	t.Helper()
	if len(got.Values("Date")) != 1 {
		t.Errorf("Date header: %q, want one", got.Values("Date"))
	}
	w := http.Header{}
	for k, v := range want {
		w[http.CanonicalHeaderKey(k)] = v
	}
	if a, b := headerDump(got), headerDump(w); a != b {
		t.Errorf("response headers:\n%s\nwant:\n%s", a, b)
	}
}
