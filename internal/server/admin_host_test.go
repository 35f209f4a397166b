package server

import (
	"io"
	"net/http"
	"testing"
)

// A DNS-rebinding page reaches the admin listener with its own name as
// Host: only IP literals, localhost and configured names are answered.
func TestAdminAnswersOnlyKnownHosts(t *testing.T) {
	o, _ := startObserved(t, func(c *Config) { c.AdminHosts = []string{"Gateway.Internal"} })
	for _, tc := range []struct {
		host string
		want int
	}{
		{"", 200}, // the listener's own address, as the client dialled it
		{"127.0.0.1", 200},
		{"127.0.0.1:9091", 200},
		{"[::1]:9091", 200},
		{"localhost", 200},
		{"LOCALHOST:9091", 200},
		{"gateway.internal:9091", 200},
		{"gateway.internal.", 200},
		{"evil.example", 403},
		{"evil.example:9091", 403},
		{"localhost.evil.example", 403},
		{"127.0.0.1.evil.example", 403},
		{"gateway.internal.evil.example", 403},
		{"localhost:abc", 403},
	} {
		for _, path := range []string{"/config_dump", "/debug/pprof/", "/healthz"} {
			req, _ := http.NewRequest("GET", o.admin+path, nil)
			if tc.host != "" {
				req.Host = tc.host
			}
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			_, _ = io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			if resp.StatusCode != tc.want {
				t.Errorf("Host %q %s: %d, want %d", tc.host, path, resp.StatusCode, tc.want)
			}
		}
	}
}

// h2c (HTTP/2 with prior knowledge) is on by default on the plain data
// and admin listeners, and off with DisableH2C.
func TestH2CIsAChoice(t *testing.T) {
	p := new(http.Protocols)
	p.SetUnencryptedHTTP2(true)
	h2c := &http.Client{Transport: &http.Transport{Protocols: p}}
	t.Cleanup(h2c.CloseIdleConnections)
	for _, disable := range []bool{false, true} {
		o, _ := startObserved(t, func(c *Config) { c.DisableH2C = disable })
		for _, url := range []string{o.url + "/ok", o.admin + "/healthz"} {
			resp, err := h2c.Get(url)
			if disable {
				if err == nil {
					resp.Body.Close()
					t.Errorf("DisableH2C: %s answered %s over h2c", url, resp.Proto)
				}
				continue
			}
			if err != nil {
				t.Fatalf("%s over h2c: %v", url, err)
			}
			resp.Body.Close()
			if resp.ProtoMajor != 2 || resp.StatusCode != 200 {
				t.Errorf("%s over h2c: %s %d", url, resp.Proto, resp.StatusCode)
			}
		}
	}
}
