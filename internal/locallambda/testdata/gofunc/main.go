// Command gofunc is a Lambda handler written against aws-lambda-go, used
// unchanged as a local Lambda function by the tests.
package main

import (
	"context"
	"errors"
	"io"
	"os"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-lambda-go/lambda"
	"github.com/aws/aws-lambda-go/lambdacontext"
)

type event struct {
	Name string `json:"name"`
	Fail bool   `json:"fail"`
	// Stream answers with aws-lambda-go's streaming response: a prelude
	// (status 201, a header) and the body in three pieces 50ms apart.
	Stream bool `json:"stream"`
}

func handle(ctx context.Context, e event) (any, error) {
	if e.Fail {
		return nil, errors.New("go handler failed")
	}
	if e.Stream {
		pr, pw := io.Pipe()
		go func() {
			for _, part := range []string{"one ", "two ", "three"} {
				pw.Write([]byte(part))
				time.Sleep(50 * time.Millisecond)
			}
			pw.Close()
		}()
		return &events.LambdaFunctionURLStreamingResponse{
			StatusCode: 201,
			Headers:    map[string]string{"X-From": "go", "Content-Type": "text/plain"},
			Body:       pr,
		}, nil
	}
	lc, _ := lambdacontext.FromContext(ctx)
	deadline, ok := ctx.Deadline()
	return map[string]any{
		"hello":       e.Name,
		"requestId":   lc.AwsRequestID,
		"arn":         lc.InvokedFunctionArn,
		"function":    lambdacontext.FunctionName,
		"version":     lambdacontext.FunctionVersion,
		"hasDeadline": ok && !deadline.IsZero(),
		"region":      os.Getenv("AWS_REGION"),
	}, nil
}

func main() { lambda.Start(handle) }
