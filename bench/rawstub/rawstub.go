// Package rawstub is the Lambda API stub of the Go benchmarks: a raw TCP
// server whose own allocations are nearly zero, so that what a benchmark
// reports is the gateway's. Serve and ReadHead are its parts, shared with
// tests and the load generator that speak HTTP/1.1 over raw connections.
package rawstub

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"net"
	"strconv"
	"testing"
)

// Start runs an in-process Lambda API on loopback that parses each request
// (request line, headers, Content-Length body) with reused buffers and
// answers a fixed response, so that the allocations a benchmark reports are
// the gateway's, not a stub server's. Functions named apigw* answer an API
// Gateway proxy response.
func Start(tb testing.TB) string {
	tb.Helper()
	const plain = `{"ok":true,"message":"hello from the stub"}`
	const apigw = `{"statusCode":200,"headers":{"Content-Type":"application/json"},"body":"{\"ok\":true}","isBase64Encoded":false}`
	resp := func(body string) []byte {
		return []byte("HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nX-Amzn-Requestid: 00000000-0000-0000-0000-000000000000\r\nContent-Length: " +
			strconv.Itoa(len(body)) + "\r\n\r\n" + body)
	}
	plainResp, apigwResp := resp(plain), resp(apigw)
	return Serve(tb, func(c net.Conn, br *bufio.Reader) {
		for {
			out := plainResp
			n, err := ReadHead(br, func(line []byte) {
				if bytes.Contains(line, []byte("/functions/apigw")) {
					out = apigwResp
				}
			})
			if err != nil {
				return
			}
			if _, err := br.Discard(max(n, 0)); err != nil {
				return
			}
			if _, err := c.Write(out); err != nil {
				return
			}
		}
	})
}

// Serve accepts connections on a loopback port until the test ends and
// runs handle on each, which closes when handle returns. It returns the
// base URL.
func Serve(tb testing.TB, handle func(c net.Conn, br *bufio.Reader)) string {
	tb.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				handle(c, bufio.NewReaderSize(c, 64<<10))
			}()
		}
	}()
	return "http://" + ln.Addr().String()
}

// ReadHead reads an HTTP/1.1 request or response head from br: first sees
// the request or status line (valid only during the call), then the
// header lines are read up to the blank line. It returns the
// Content-Length, or -1 when there is none.
func ReadHead(br *bufio.Reader, first func(line []byte)) (int, error) {
	line, err := br.ReadSlice('\n')
	if err != nil {
		return 0, err
	}
	first(line)
	n := -1
	for {
		h, err := br.ReadSlice('\n')
		if err != nil {
			return 0, err
		}
		if len(h) <= 2 {
			return n, nil
		}
		if k, v, ok := bytes.Cut(h, []byte(":")); ok && bytes.EqualFold(k, []byte("Content-Length")) {
			if n, err = strconv.Atoi(string(bytes.TrimSpace(v))); err != nil {
				return 0, err
			}
		}
	}
}

// Exchange sends req on a kept-alive connection and reads the answer,
// which must be a 200 with a Content-Length body; the body is discarded.
// Buffers are reused, so it allocates nothing when all goes well.
func Exchange(conn net.Conn, br *bufio.Reader, req []byte) error {
	if _, err := conn.Write(req); err != nil {
		return err
	}
	var bad error
	n, err := ReadHead(br, func(line []byte) {
		if !bytes.HasPrefix(line, []byte("HTTP/1.1 200 ")) {
			bad = fmt.Errorf("status line %q", line)
		}
	})
	switch {
	case err != nil:
		return err
	case bad != nil:
		return bad
	case n < 0:
		return errors.New("answer without Content-Length")
	}
	_, err = br.Discard(n)
	return err
}
