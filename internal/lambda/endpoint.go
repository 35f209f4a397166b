package lambda

import (
	"net/url"
	"os"
)

// Endpoints picks the Lambda API base URL an upstream calls. Translation
// and discovery both use it, so a function is listed where it is invoked.
type Endpoints struct {
	// LocalLambda is the local Lambda's base URL when it runs beside the
	// gateway; upstreams without endpointUrl then call it. Default none.
	LocalLambda *url.URL
	// Getenv reads AWS_ENDPOINT_URL_LAMBDA / AWS_ENDPOINT_URL. Default
	// os.Getenv.
	Getenv func(string) string
}

// EndpointEnvVars are the AWS SDK's endpoint variables, most specific
// first.
var EndpointEnvVars = []string{"AWS_ENDPOINT_URL_LAMBDA", "AWS_ENDPOINT_URL"}

// For picks the base URL: endpointURL (the upstream's endpointUrl) when it
// parses, else the local Lambda, else AWS_ENDPOINT_URL_LAMBDA /
// AWS_ENDPOINT_URL, else the regional AWS endpoint.
func (e Endpoints) For(endpointURL, region string) *url.URL {
	if endpointURL != "" {
		if u, err := url.Parse(endpointURL); err == nil {
			return u
		}
	}
	if e.LocalLambda != nil {
		return e.LocalLambda
	}
	for _, v := range EndpointEnvVars {
		if u := envEndpoint(e.getenv(v)); u != nil {
			return u
		}
	}
	return RegionalEndpoint(region)
}

// Ignored lists the endpoint variables (name, value) For skips because
// their value is not an http(s) URL; none when endpointURL or the local
// Lambda decides.
func (e Endpoints) Ignored(endpointURL string) [][2]string {
	if endpointURL != "" || e.LocalLambda != nil {
		return nil
	}
	var bad [][2]string
	for _, v := range EndpointEnvVars {
		if s := e.getenv(v); s != "" && envEndpoint(s) == nil {
			bad = append(bad, [2]string{v, s})
		}
	}
	return bad
}

func (e Endpoints) getenv(k string) string {
	if e.Getenv == nil {
		return os.Getenv(k)
	}
	return e.Getenv(k)
}

// envEndpoint parses an endpoint variable's value; nil when it is empty or
// not an http(s) URL.
func envEndpoint(s string) *url.URL {
	if s == "" {
		return nil
	}
	u, err := url.Parse(s)
	if err != nil || u.Host == "" || (u.Scheme != "http" && u.Scheme != "https") {
		return nil
	}
	return u
}
