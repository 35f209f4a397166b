// Command loadgen is the part of the benchmark load that wrk cannot do:
//
//	loadgen rate -url URL -rate R -d 10s -c 32 [-body FILE]
//	    an open-loop run at a fixed request rate over c kept-alive raw TCP
//	    connections (no net/http client: the generator's own latency must
//	    stay far below the millisecond it measures); latency is measured
//	    from each request's scheduled send time, so a stalled server is not
//	    hidden by the client waiting (coordinated omission). Prints
//	    "requests=N errors=E p50_ms=X p99_ms=Y".
//	loadgen idle -addr HOST:PORT -n 10000 -path /echo
//	    opens n keep-alive connections, sends one request on each, prints
//	    "ready N" and holds them idle until stdin closes or SIGTERM.
//	loadgen manifests -endpoint URL [-routes N] [-upstreams U -functions F]
//	    prints the benchmark's configuration (see bench/manifests).
//	loadgen stream -gateway URL -lambda URL [-mib 100] [-n 5]
//	    time to first byte streamed vs buffered, and a large stream's
//	    throughput through the gateway and directly (see stream.go).
package main

import (
	"bufio"
	"context"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/signal"
	"slices"
	"strconv"
	"sync"
	"syscall"
	"time"

	"github.com/lambdagate/lambdagate/bench/manifests"
	"github.com/lambdagate/lambdagate/bench/rawstub"
)

func main() {
	if len(os.Args) < 2 {
		fmt.Fprintln(os.Stderr, "usage: loadgen rate|idle [flags]")
		os.Exit(2)
	}
	var err error
	switch os.Args[1] {
	case "rate":
		err = rate(os.Args[2:])
	case "idle":
		err = idle(os.Args[2:])
	case "stream":
		err = stream(os.Args[2:])
	case "manifests":
		fs := flag.NewFlagSet("manifests", flag.ExitOnError)
		var o manifests.Options
		fs.StringVar(&o.Endpoint, "endpoint", "", "Lambda API base URL")
		fs.IntVar(&o.Routes, "routes", 0, "routes, the three measured ones included")
		fs.IntVar(&o.Upstreams, "upstreams", 0, "extra upstreams")
		fs.IntVar(&o.Functions, "functions", 0, "lambdaFunctions per extra upstream")
		fs.BoolVar(&o.RateLimits, "ratelimits", false, "add the rate-limited routes")
		fs.BoolVar(&o.Weighted, "weighted", false, "add the weighted route")
		fs.StringVar(&o.Redis, "redis", "", "Redis host:port for the Redis rate-limited route")
		_ = fs.Parse(os.Args[2:])
		err = manifests.Write(os.Stdout, o)
	default:
		err = fmt.Errorf("unknown command %q: must be rate, idle, manifests or stream", os.Args[1])
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "loadgen:", err)
		os.Exit(1)
	}
}

func rate(args []string) error {
	fs := flag.NewFlagSet("rate", flag.ExitOnError)
	target := fs.String("url", "", "target URL (http://host:port/path)")
	r := fs.Float64("rate", 1000, "requests per second")
	d := fs.Duration("d", 10*time.Second, "duration")
	c := fs.Int("c", 32, "connections (and concurrent requests)")
	bodyFile := fs.String("body", "", "POST this file's content (GET when empty)")
	_ = fs.Parse(args)
	u, err := url.Parse(*target)
	if err != nil || u.Scheme != "http" || u.Host == "" {
		return fmt.Errorf("-url %q: must be an http:// URL", *target)
	}
	var body []byte
	if *bodyFile != "" {
		if body, err = os.ReadFile(*bodyFile); err != nil {
			return err
		}
	}
	method := "GET"
	if body != nil {
		method = "POST"
	}
	req := []byte(method + " " + u.RequestURI() + " HTTP/1.1\r\nHost: " + u.Host + "\r\nContent-Type: application/json\r\nContent-Length: " +
		strconv.Itoa(len(body)) + "\r\n\r\n" + string(body))
	n := int(*r * d.Seconds())
	interval := time.Duration(float64(time.Second) / *r)
	lat := make([][]time.Duration, *c)
	errs := make([]int, *c)
	var wg sync.WaitGroup
	start := time.Now().Add(100 * time.Millisecond)
	for w := range *c {
		conn, err := net.Dial("tcp", u.Host)
		if err != nil {
			return err
		}
		defer conn.Close()
		wg.Add(1)
		go func() {
			defer wg.Done()
			// Connection w sends requests w, w+c, w+2c, ... each at its
			// scheduled time or, when the previous answer is late, right
			// after it; latency counts from the scheduled time, so a
			// stall is not hidden (coordinated omission).
			br := bufio.NewReaderSize(conn, 64<<10)
			lat[w] = make([]time.Duration, 0, n / *c + 1)
			for i := w; i < n; i += *c {
				at := start.Add(time.Duration(i) * interval)
				if s := time.Until(at); s > 0 {
					time.Sleep(s)
				}
				if err := rawstub.Exchange(conn, br, req); err != nil {
					errs[w]++
					return
				}
				lat[w] = append(lat[w], time.Since(at))
			}
		}()
	}
	wg.Wait()
	var all []time.Duration
	nerr := 0
	for w := range *c {
		all = append(all, lat[w]...)
		nerr += errs[w]
	}
	slices.Sort(all)
	pct := func(p float64) float64 {
		if len(all) == 0 {
			return 0
		}
		return float64(all[min(len(all)-1, int(p*float64(len(all))))]) / 1e6
	}
	fmt.Printf("requests=%d errors=%d p50_ms=%.3f p99_ms=%.3f\n", len(all), nerr, pct(0.50), pct(0.99))
	return nil
}

func idle(args []string) error {
	fs := flag.NewFlagSet("idle", flag.ExitOnError)
	addr := fs.String("addr", "", "host:port")
	n := fs.Int("n", 10000, "connections")
	path := fs.String("path", "/", "request path")
	_ = fs.Parse(args)
	conns := make([]net.Conn, *n)
	req := []byte("POST " + *path + " HTTP/1.1\r\nHost: " + *addr + "\r\nContent-Type: application/json\r\nContent-Length: 2\r\n\r\n{}")
	sem := make(chan struct{}, 64)
	errc := make(chan error, 1)
	var wg sync.WaitGroup
	for i := range *n {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			c, err := net.DialTimeout("tcp", *addr, 10*time.Second)
			if err == nil {
				_ = c.SetDeadline(time.Now().Add(30 * time.Second))
				if _, err = c.Write(req); err == nil {
					var resp *http.Response
					if resp, err = http.ReadResponse(bufio.NewReader(c), nil); err == nil {
						_, err = io.Copy(io.Discard, resp.Body)
						resp.Body.Close()
						_ = c.SetDeadline(time.Time{})
					}
				}
			}
			if err != nil {
				select {
				case errc <- fmt.Errorf("connection %d: %w", i, err):
				default:
				}
				return
			}
			conns[i] = c
		}()
	}
	wg.Wait()
	select {
	case err := <-errc:
		return err
	default:
	}
	fmt.Printf("ready %d\n", *n)
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	go func() { _, _ = io.Copy(io.Discard, os.Stdin); stop() }()
	<-ctx.Done()
	for _, c := range conns {
		c.Close()
	}
	return nil
}
