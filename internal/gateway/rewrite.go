package gateway

import (
	"strings"

	"github.com/lambdagate/lambdagate/internal/gateway/pipeline"
	"github.com/lambdagate/lambdagate/internal/lambda"
	"github.com/lambdagate/lambdagate/internal/router"
	"github.com/lambdagate/lambdagate/internal/transform"
)

// rewriteEvent sets the paths of an event whose route rewrites the path,
// as API Gateway shows a request that came through a custom domain's
// base-path mapping (the rewrite playing the mapping's part): payload 2.0,
// the ALB event and Gloo's request transformation show the rewritten path
// (2.0's rawPath excludes the mapping's base path); payload 1.0's path
// stays the path the client sent (it includes the base path). Either way
// resource and pathParameters describe the rewritten path, which is the
// path of the API behind the mapping.
func rewriteEvent(tr *transform.Request, wrap lambda.Wrap, rw *pipeline.Rewrite, m *router.Matcher, path string) {
	rewritten := rw.Path(path, m)
	if wrap != lambda.WrapAPIGatewayV1 {
		tr.Path = rewritten
	}
	switch {
	case m.Kind == router.PathExact:
		tr.Resource = rewritten
	case m.Kind == router.PathRegex:
		// Named groups name parts of the path the client sent.
		_, tr.PathParameters = pipeline.ResourceOf(m, path)
		tr.Resource = rewritten
	case rw.Regex == nil:
		// The new prefix is where the greedy resource now starts.
		base := rw.Prefix
		if !strings.HasPrefix(base, "/") {
			base = "/" + base
		}
		tr.Resource, tr.PathParameters = pipeline.ResourceOf(&router.Matcher{Kind: router.PathPrefix, Path: base, CaseSensitive: true}, rewritten)
	default:
		// A regex rewrite leaves no known prefix: the root greedy
		// resource.
		tr.Resource, tr.PathParameters = pipeline.ResourceOf(&router.Matcher{Kind: router.PathPrefix, Path: "/", CaseSensitive: true}, rewritten)
	}
}
