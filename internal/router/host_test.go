package router

import (
	"net"
	"strconv"
	"strings"
	"testing"
)

func FuzzValidHost(f *testing.F) {
	for _, s := range []string{"a.test", "a.test:80", "a.test:", "[::1]:443", "[::1]", "a:b:c", "[::1", "a.test:abc", ""} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, host string) {
		if !ValidHost(host) {
			return
		}
		// A valid host with a port splits into a host and a decimal port.
		if i := strings.LastIndexByte(host, ':'); i > strings.LastIndexByte(host, ']') {
			h, p, err := net.SplitHostPort(host)
			if err != nil {
				t.Fatalf("%q valid but SplitHostPort: %v", host, err)
			}
			if strings.Contains(h, ":") && host[0] != '[' {
				t.Fatalf("%q valid with an unbracketed colon in the host", host)
			}
			if n, err := strconv.Atoi(p); p != "" && (err != nil || n < 0 || n > 65535 || p[0] == '+' || p[0] == '-') {
				t.Fatalf("%q valid with port %q", host, p)
			}
		}
	})
}
