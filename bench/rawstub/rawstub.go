// Package rawstub is the Lambda API stub of the Go benchmarks: a raw TCP
// server whose own allocations are nearly zero, so that what a benchmark
// reports is the gateway's.
package rawstub

import (
	"bufio"
	"bytes"
	"net"
	"strconv"
	"testing"
)

// Start runs an in-process Lambda API on loopback that parses each request
// (request line, headers, Content-Length body) with reused buffers and
// answers a fixed response, so that the allocations a benchmark reports are
// the gateway's, not a stub server's.
func Start(tb testing.TB) string {
	tb.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { ln.Close() })
	const plain = `{"ok":true,"message":"hello from the stub"}`
	const apigw = `{"statusCode":200,"headers":{"Content-Type":"application/json"},"body":"{\"ok\":true}","isBase64Encoded":false}`
	resp := func(body string) []byte {
		return []byte("HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nX-Amzn-Requestid: 00000000-0000-0000-0000-000000000000\r\nContent-Length: " +
			strconv.Itoa(len(body)) + "\r\n\r\n" + body)
	}
	plainResp, apigwResp := resp(plain), resp(apigw)
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				br := bufio.NewReaderSize(c, 64<<10)
				for {
					line, err := br.ReadSlice('\n')
					if err != nil {
						return
					}
					out := plainResp
					if bytes.Contains(line, []byte("/functions/apigw")) {
						out = apigwResp
					}
					n := 0
					for {
						h, err := br.ReadSlice('\n')
						if err != nil {
							return
						}
						if len(h) <= 2 {
							break
						}
						if k, v, ok := bytes.Cut(h, []byte(":")); ok && bytes.EqualFold(k, []byte("Content-Length")) {
							n, _ = strconv.Atoi(string(bytes.TrimSpace(v)))
						}
					}
					if _, err := br.Discard(n); err != nil {
						return
					}
					if _, err := c.Write(out); err != nil {
						return
					}
				}
			}()
		}
	}()
	return "http://" + ln.Addr().String()
}
