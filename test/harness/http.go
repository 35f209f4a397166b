package harness

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"
)

// Client talks to gateways: no proxy from the environment, and responses
// arrive as the gateway encoded them.
var Client = &http.Client{
	Timeout:   30 * time.Second,
	Transport: &http.Transport{Proxy: nil, DisableCompression: true, MaxIdleConnsPerHost: 64},
}

// RawResponse is a response with its whole body read.
type RawResponse struct {
	*http.Response
	Body []byte
}

// Do sends a request with Client and reads the whole response. A "Host"
// entry in hdr sets the request's Host.
func Do(t testing.TB, method, url string, body io.Reader, hdr map[string]string) *RawResponse {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, method, url, body)
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range hdr {
		if k == "Host" {
			req.Host = v
			continue
		}
		req.Header.Set(k, v)
	}
	resp, err := Client.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, url, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("reading the body of %s %s: %v", method, url, err)
	}
	if Seen != nil {
		Seen(nil, b)
	}
	return &RawResponse{Response: resp, Body: b}
}

// RawExchange writes req byte for byte on a new connection to addr and
// reads one response, so the gateway sees exactly these bytes (Go's client
// would add its own headers). The error is the write's or the read's as
// is: a server that closed the connection without answering gives one.
func RawExchange(t testing.TB, addr, req string) (*RawResponse, error) {
	t.Helper()
	c, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(20 * time.Second))
	if _, err := io.WriteString(c, req); err != nil {
		return nil, err
	}
	resp, err := http.ReadResponse(bufio.NewReader(c), nil)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		return nil, err
	}
	if Seen != nil {
		Seen(nil, body)
	}
	return &RawResponse{Response: resp, Body: body}, nil
}

// CheckEcho sends body to url with c and says what went wrong: "" when the
// gateway answered 200 with the same body (the stub's Echo reply).
// answered is false when no HTTP answer came at all (a transport error, or
// ctx ended the request).
func CheckEcho(ctx context.Context, c *http.Client, method, url, body string) (problem string, answered bool) {
	req, _ := http.NewRequestWithContext(ctx, method, url, strings.NewReader(body))
	resp, err := c.Do(req)
	if err != nil {
		return err.Error(), false
	}
	got, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil || resp.StatusCode != 200 || string(got) != body {
		return fmt.Sprintf("%d %q (read error %v)", resp.StatusCode, got, err), true
	}
	return "", true
}
