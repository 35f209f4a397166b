// Command gofunc is a Lambda handler written against aws-lambda-go, used
// unchanged as a local Lambda function by the tests.
package main

import (
	"context"
	"errors"
	"os"

	"github.com/aws/aws-lambda-go/lambda"
	"github.com/aws/aws-lambda-go/lambdacontext"
)

type event struct {
	Name string `json:"name"`
	Fail bool   `json:"fail"`
}

func handle(ctx context.Context, e event) (map[string]any, error) {
	if e.Fail {
		return nil, errors.New("go handler failed")
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
