package locallambda

import (
	"context"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/lambda"
)

func benchEcho(b *testing.B) *testEnv {
	requireNode(b)
	dir := b.TempDir()
	writeFunction(b, dir, "echo", map[string]string{"index.js": "exports.handler = async (event) => {\n    return event;\n};\n"})
	return startServer(b, Options{Dir: dir})
}

func benchInvoke(b *testing.B, c *lambda.Client) {
	out, err := c.Invoke(context.Background(), &lambda.InvokeInput{FunctionName: aws.String("echo"), Payload: []byte(`{"hello":"world"}`)})
	if err != nil || out.FunctionError != nil {
		b.Fatalf("invoke: %v %s", err, aws.ToString(out.FunctionError))
	}
}

// BenchmarkWarmInvokeNode measures a signed SDK Invoke of the walkthrough
// echo function on a warm instance, end to end over loopback.
func BenchmarkWarmInvokeNode(b *testing.B) {
	env := benchEcho(b)
	benchInvoke(b, env.client) // start the instance outside the measurement
	for b.Loop() {
		benchInvoke(b, env.client)
	}
	b.ReportMetric(float64(b.Elapsed().Microseconds())/1000/float64(b.N), "ms/invoke")
}

// BenchmarkColdStartNode measures an Invoke that must start a new node
// process first: the idle instance is recycled before every iteration.
func BenchmarkColdStartNode(b *testing.B) {
	env := benchEcho(b)
	for b.Loop() {
		b.StopTimer()
		env.srv.pool.recycle("echo", nil)
		env.srv.pool.dying.Wait()
		b.StartTimer()
		benchInvoke(b, env.client)
	}
	b.ReportMetric(float64(b.Elapsed().Microseconds())/1000/float64(b.N), "ms/invoke")
}
