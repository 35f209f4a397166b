package gateway

import (
	"fmt"
	"io"
	"log/slog"
	"strings"
	"testing"

	"github.com/lambdagate/lambdagate/bench/rawstub"
	"github.com/lambdagate/lambdagate/internal/awscreds"
	"github.com/lambdagate/lambdagate/internal/lambda"
	"github.com/lambdagate/lambdagate/internal/resource"
	"github.com/lambdagate/lambdagate/internal/snapshot"
	"github.com/lambdagate/lambdagate/internal/translate"
)

// BenchmarkGatewayWeighted is BenchmarkGatewayPassthrough's request on a
// route splitting 90/10 between two aliases of the passthrough function:
// its ratio to BenchmarkGatewayPassthrough is the cost of the choice.
func BenchmarkGatewayWeighted(b *testing.B) {
	y := fmt.Sprintf(`
apiVersion: v1
kind: Secret
metadata: {name: bench-creds, namespace: gloo-system}
stringData: {aws_access_key_id: AKIDBENCHMARK, aws_secret_access_key: benchmark-secret-key}
---
apiVersion: gloo.solo.io/v1
kind: Upstream
metadata: {name: bench, namespace: gloo-system}
spec:
  aws:
    region: us-east-1
    endpointUrl: %s
    secretRef: {name: bench-creds}
    lambdaFunctions:
    - {logicalName: live, lambdaFunctionName: plain, qualifier: live}
    - {logicalName: canary, lambdaFunctionName: plain, qualifier: canary}
---
apiVersion: gateway.solo.io/v1
kind: VirtualService
metadata: {name: bench, namespace: gloo-system}
spec:
  virtualHost:
    routes:
    - matchers: [{prefix: /echo}]
      routeAction:
        multi:
          destinations:
          - {weight: 90, destination: {upstream: {name: bench}, destinationSpec: {aws: {logicalName: live}}}}
          - {weight: 10, destination: {upstream: {name: bench}, destinationSpec: {aws: {logicalName: canary}}}}
`, rawstub.Start(b))
	objs, err := resource.DecodeAll(strings.NewReader(y), "bench")
	if err != nil {
		b.Fatal(err)
	}
	snap := translate.Translate(translate.FromObjects(objs), awscreds.NewResolver(), translate.Env{Getenv: func(string) string { return "" }})
	h := &snapshot.Holder{}
	h.Store(snap)
	iv := lambda.NewInvoker(lambda.Options{})
	b.Cleanup(iv.CloseIdle)
	benchServe(b, New(h, iv, slog.New(slog.NewTextHandler(io.Discard, nil))), "/echo", smallBody)
}
