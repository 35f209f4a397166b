package jwt

import (
	"net/http"
	"net/url"
	"strings"
)

// Source is one place a token may be: a header (canonical name) after a
// prefix, or a query parameter. Exactly one of Header and Query is set.
type Source struct {
	Header string
	Prefix string
	Query  string
}

// DefaultSources are Envoy's and Gloo's when a provider names none: the
// Authorization header after "Bearer " (RFC 6750 §2.1), then the
// access_token query parameter (§2.3).
var DefaultSources = []Source{{Header: "Authorization", Prefix: "Bearer "}, {Query: "access_token"}}

// maxToken bounds a token: anything longer is not one (API Gateway's
// whole request line and headers are far smaller).
const maxToken = 16 << 10

// Extract returns the first token found in the sources, in order, and the
// source it came from. A header's prefix is compared without case (the
// "Bearer" scheme is case-insensitive) and space around the token is
// dropped; an empty token is no token.
func Extract(r *http.Request, sources []Source) (string, Source, bool) {
	for _, s := range sources {
		if s.Header != "" {
			for _, v := range r.Header[s.Header] {
				if tok, ok := fromHeader(v, s.Prefix); ok {
					return tok, s, true
				}
			}
			continue
		}
		if tok, ok := QueryValue(r.URL.RawQuery, s.Query); ok && tok != "" && len(tok) <= maxToken {
			return tok, s, true
		}
	}
	return "", Source{}, false
}

func fromHeader(v, prefix string) (string, bool) {
	if len(v) < len(prefix) || !strings.EqualFold(v[:len(prefix)], prefix) {
		return "", false
	}
	tok := strings.TrimSpace(v[len(prefix):])
	if tok == "" || len(tok) > maxToken {
		return "", false
	}
	return tok, true
}

// QueryValue returns the first value of query parameter name in a raw
// query, unescaped, without parsing the whole query into a map (the
// request path pays for no more than a scan). A value that does not
// unescape is skipped.
func QueryValue(raw, name string) (string, bool) {
	for raw != "" {
		var pair string
		pair, raw, _ = strings.Cut(raw, "&")
		k, v, _ := strings.Cut(pair, "=")
		if k != name {
			if !strings.ContainsAny(k, "%+") {
				continue
			}
			uk, err := url.QueryUnescape(k)
			if err != nil || uk != name {
				continue
			}
		}
		uv, err := url.QueryUnescape(v)
		if err != nil {
			continue
		}
		return uv, true
	}
	return "", false
}
