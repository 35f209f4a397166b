package gateway

import (
	"net/http"
	"testing"

	"github.com/lambdagate/lambdagate/bench/manifests"
	"github.com/lambdagate/lambdagate/bench/rawstub"
	"github.com/lambdagate/lambdagate/internal/auth/jwks"
	"github.com/lambdagate/lambdagate/internal/auth/jwt"
	"github.com/lambdagate/lambdagate/internal/auth/jwt/jwttest"
	"github.com/lambdagate/lambdagate/internal/gateway/pipeline"
)

// BenchmarkGatewayPassthroughJWT is BenchmarkGatewayPassthrough with a
// JWT stage (RS256, cached keys) in front of the route: the difference
// between the two is what authentication costs per request (budget: 30
// µs of CPU).
func BenchmarkGatewayPassthroughJWT(b *testing.B) {
	g := benchGateway(b, manifests.Options{Endpoint: rawstub.Start(b)})
	key := jwttest.NewRSA("bench")
	set, err := jwks.Parse(string(jwttest.JWKS(key)))
	if err != nil {
		b.Fatal(err)
	}
	const iss = "https://issuer.bench"
	stage := &jwt.Stage{Providers: []*jwt.Provider{{Name: "bench", Issuer: iss, Sources: jwt.DefaultSources,
		KeepToken: true, Skew: jwt.DefaultClockSkew, Keys: set}}}
	for _, vh := range g.holder.Load().HTTP.VirtualHosts() {
		for _, rt := range vh.Routes {
			p := pipeline.Of(rt)
			p.Request = append([]pipeline.RequestFilter{stage}, p.Request...)
		}
	}
	tok := key.Sign(jwttest.Claims(iss, "api", map[string]any{"scope": "read"}))
	benchServeWith(b, g, manifests.PassthroughPath, smallBody, http.Header{"Authorization": {"Bearer " + tok}})
}
