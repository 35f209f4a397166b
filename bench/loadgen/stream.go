package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/lambda"
	"github.com/aws/aws-sdk-go-v2/service/lambda/types"
)

// stream measures response streaming (responseTransferMode STREAM) against
// a gateway whose routes /stream (STREAM) and /buffered (BUFFERED) call
// the streamer function of test/e2e/testdata/streaming on a local Lambda:
//
//   - time to first byte, streamed vs buffered: the function writes 10
//     chunks 100 ms apart; the median over n requests of the time from the
//     request to the first body byte;
//   - throughput of a large stream (mib MiB) through the gateway, and
//     from the local Lambda directly with the SDK's InvokeWithResponseStream
//     (the ceiling): the median over n runs of each, and their ratio.
//
// Prints "ttfb_stream_ms=A ttfb_buffered_ms=B gateway_mibps=C direct_mibps=D ratio=E".
func stream(args []string) error {
	fs := flag.NewFlagSet("stream", flag.ExitOnError)
	gateway := fs.String("gateway", "", "gateway base URL")
	direct := fs.String("lambda", "", "local Lambda base URL")
	mib := fs.Int("mib", 100, "size of the large stream, MiB")
	n := fs.Int("n", 5, "runs of each measurement")
	_ = fs.Parse(args)
	if *gateway == "" || *direct == "" {
		return fmt.Errorf("stream: -gateway and -lambda are required")
	}
	ctx := context.Background()
	var ttfbS, ttfbB, gw, dr []float64
	for i := 0; i < *n; i++ {
		s, err := firstByte(*gateway + "/stream")
		if err != nil {
			return err
		}
		b, err := firstByte(*gateway + "/buffered")
		if err != nil {
			return err
		}
		ttfbS, ttfbB = append(ttfbS, s), append(ttfbB, b)
	}
	body := fmt.Sprintf(`{"mode":"big","mib":%d}`, *mib)
	client := lambda.NewFromConfig(aws.Config{Region: "us-east-1", Credentials: credentials.NewStaticCredentialsProvider("AKIDBENCH", "bench", "")},
		func(o *lambda.Options) { o.BaseEndpoint = aws.String(*direct) })
	for i := 0; i < *n; i++ {
		start := time.Now()
		resp, err := http.Post(*gateway+"/stream", "application/json", strings.NewReader(body))
		if err != nil {
			return err
		}
		got, err := io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if err != nil || got != int64(*mib)<<20 {
			return fmt.Errorf("gateway stream: %d bytes, %v", got, err)
		}
		gw = append(gw, float64(*mib)/time.Since(start).Seconds())

		start = time.Now()
		out, err := client.InvokeWithResponseStream(ctx, &lambda.InvokeWithResponseStreamInput{FunctionName: aws.String("streamer"), Payload: []byte(body)})
		if err != nil {
			return err
		}
		got = 0
		for ev := range out.GetStream().Events() {
			if c, ok := ev.(*types.InvokeWithResponseStreamResponseEventMemberPayloadChunk); ok {
				got += int64(len(c.Value.Payload))
			}
		}
		out.GetStream().Close()
		if got != int64(*mib)<<20 {
			return fmt.Errorf("direct stream: %d bytes, %v", got, out.GetStream().Err())
		}
		dr = append(dr, float64(*mib)/time.Since(start).Seconds())
	}
	g, d := median(gw), median(dr)
	fmt.Printf("ttfb_stream_ms=%.1f ttfb_buffered_ms=%.1f gateway_mibps=%.0f direct_mibps=%.0f ratio=%.2f\n", median(ttfbS), median(ttfbB), g, d, g/d)
	return nil
}

// firstByte is the time from sending a ticks request to its first body
// byte, in ms.
func firstByte(url string) (float64, error) {
	start := time.Now()
	resp, err := http.Post(url, "application/json", strings.NewReader(`{"mode":"ticks"}`))
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	var b [1]byte
	if _, err := io.ReadFull(resp.Body, b[:]); err != nil {
		return 0, fmt.Errorf("%s: %d: %v", url, resp.StatusCode, err)
	}
	d := time.Since(start)
	_, _ = io.Copy(io.Discard, resp.Body)
	return float64(d.Microseconds()) / 1000, nil
}

func median(v []float64) float64 {
	slices.Sort(v)
	if len(v) == 0 {
		return 0
	}
	if len(v)%2 == 1 {
		return v[len(v)/2]
	}
	return (v[len(v)/2-1] + v[len(v)/2]) / 2
}
