package chaos

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/lambdagate/lambdagate/test/harness"
)

// faultServer is a Lambda endpoint that misbehaves at the TCP level, which
// an http.Handler cannot: it reads each request off the connection and
// answers according to the function name in the Invoke path.
type faultServer struct {
	ln       net.Listener
	requests atomic.Int64
	wg       sync.WaitGroup
	closing  chan struct{}
}

// Faults, by function name.
const (
	faultOK        = "ok"           // 200 {"ok":true}
	faultRefuse    = "refuse"       // connection reset before reading the request
	faultReset     = "reset"        // headers and half the body, then a reset
	faultTruncated = "truncated"    // Content-Length 100, 10 bytes, then FIN
	faultOversize  = "oversize"     // a 7 MB answer with Content-Length
	faultOversizeC = "oversize-chk" // a 7 MB chunked answer
	fault500       = "s500"         // Lambda ServiceException
	fault502       = "s502"         // a proxy in front of Lambda failing
	fault503       = "s503"         // ServiceUnavailable / EC2 throttling
	faultThrottle  = "throttle"     // 429 forever
	faultSlow      = "slow"         // answers after 30s (the route timeout is shorter)
	faultHang      = "hang"         // reads the request, never answers, keeps the connection
	faultGarbage   = "garbage"      // not HTTP at all
)

func newFaultServer(t testing.TB) *faultServer {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s := &faultServer{ln: ln, closing: make(chan struct{})}
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			s.wg.Add(1)
			go func() { defer s.wg.Done(); s.serve(c.(*net.TCPConn)) }()
		}
	}()
	t.Cleanup(func() {
		close(s.closing)
		ln.Close()
		s.wg.Wait()
	})
	return s
}

func (s *faultServer) URL() string { return "http://" + s.ln.Addr().String() }

func reset(c *net.TCPConn) {
	_ = c.SetLinger(0) // close sends RST
	c.Close()
}

func (s *faultServer) serve(c *net.TCPConn) {
	defer c.Close()
	br := bufio.NewReader(c)
	for {
		_ = c.SetReadDeadline(time.Now().Add(2 * time.Minute))
		// A refusing endpoint resets without reading: peek one byte so
		// the reset happens after the request arrived.
		if _, err := br.Peek(1); err != nil {
			return
		}
		req, err := http.ReadRequest(br)
		if err != nil {
			return
		}
		fn := strings.TrimSuffix(strings.TrimPrefix(req.URL.Path, harness.InvokePrefix), harness.InvokeSuffix)
		if fn == faultRefuse {
			reset(c)
			return
		}
		_, _ = io.Copy(io.Discard, req.Body)
		s.requests.Add(1)
		const hdr = "HTTP/1.1 %d %s\r\nContent-Type: application/json\r\nX-Amzn-Requestid: fault-%s\r\n"
		switch fn {
		case faultOK:
			body := `{"ok":true}`
			fmt.Fprintf(c, hdr+"Content-Length: %d\r\n\r\n%s", 200, "OK", fn, len(body), body)
		case faultReset:
			fmt.Fprintf(c, hdr+"Content-Length: 1000\r\n\r\n{\"half\":\"", 200, "OK", fn)
			time.Sleep(5 * time.Millisecond)
			reset(c)
			return
		case faultTruncated:
			fmt.Fprintf(c, hdr+"Content-Length: 100\r\n\r\n{\"trunc", 200, "OK", fn)
			return
		case faultOversize, faultOversizeC:
			const n = 7 << 20
			if fn == faultOversize {
				fmt.Fprintf(c, hdr+"Content-Length: %d\r\n\r\n", 200, "OK", fn, n+2)
			} else {
				fmt.Fprintf(c, hdr+"Transfer-Encoding: chunked\r\n\r\n%x\r\n", 200, "OK", fn, n+2)
			}
			_, _ = c.Write([]byte{'"'})
			_, _ = c.Write([]byte(strings.Repeat("x", n)))
			_, _ = c.Write([]byte{'"'})
			if fn == faultOversizeC {
				_, _ = io.WriteString(c, "\r\n0\r\n\r\n")
			}
		case fault500:
			body := `{"Type":"Service","Message":"internal error"}`
			fmt.Fprintf(c, hdr+"X-Amzn-Errortype: ServiceException\r\nContent-Length: %d\r\n\r\n%s", 500, "Internal Server Error", fn, len(body), body)
		case fault502:
			body := "<html>bad gateway</html>"
			fmt.Fprintf(c, "HTTP/1.1 502 Bad Gateway\r\nContent-Type: text/html\r\nContent-Length: %d\r\n\r\n%s", len(body), body)
		case fault503:
			body := `{"Type":"Service","message":"Lambda is unable to set up VPC access"}`
			fmt.Fprintf(c, hdr+"X-Amzn-Errortype: EC2ThrottledException\r\nContent-Length: %d\r\n\r\n%s", 503, "Service Unavailable", fn, len(body), body)
		case faultThrottle:
			fmt.Fprintf(c, hdr+"X-Amzn-Errortype: TooManyRequestsException\r\nContent-Length: %d\r\n\r\n%s", 429, "Too Many Requests", fn, len(harness.ThrottleBody), harness.ThrottleBody)
		case faultSlow:
			select {
			case <-time.After(30 * time.Second):
			case <-s.closing:
			}
			return
		case faultHang:
			// Read until the gateway gives up and closes.
			_, _ = io.Copy(io.Discard, c)
			return
		case faultGarbage:
			_, _ = io.WriteString(c, "SSH-2.0-OpenSSH_9.6\r\n\x00\x01\x02")
			return
		default:
			body := fmt.Sprintf(`{"Type":"User","Message":"Function not found: %s"}`, fn)
			fmt.Fprintf(c, hdr+"X-Amzn-Errortype: ResourceNotFoundException\r\nContent-Length: %d\r\n\r\n%s", 404, "Not Found", fn, len(body), body)
		}
	}
}
