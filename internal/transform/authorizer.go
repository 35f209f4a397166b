package transform

import (
	"encoding/json"
	"strconv"
	"strings"
	"time"
)

// The caller's identity in the API Gateway events, where API Gateway puts
// it. Only authenticated routes pay for this: the builders call these
// functions when Request.Authorizer is set. Claims and authorizer contexts
// are arbitrary JSON from tokens and functions, so they go through
// encoding/json (sorted keys, valid escaping) rather than the hand-written
// appenders, which assume known keys.

// authorizes says an authorizer (JWT or Lambda) ran, as opposed to only
// an API key or a client certificate.
func (a *Authorizer) authorizes() bool {
	return a.Claims != nil || a.PrincipalID != "" || a.Context != nil
}

// appendAuthorizerV1 writes payload 1.0's requestContext.authorizer: a
// Lambda authorizer's principalId, integrationLatency and context keys at
// the top level (REST API Lambda authorizers), and a JWT's claims (each
// with its JSON type, as REST API JWT authorizers pass them to a proxy
// integration) and scopes. Context keys never replace principalId or the
// claims.
func appendAuthorizerV1(dst []byte, a *Authorizer) []byte {
	dst = append(dst, `,"authorizer":{`...)
	reserved := map[string]bool{}
	if a.PrincipalID != "" || a.Context != nil {
		dst = appendStringField(dst, "principalId", a.PrincipalID)
		dst = appendIntField(dst, "integrationLatency", 0)
		reserved["principalId"], reserved["integrationLatency"] = true, true
	}
	if a.Claims != nil {
		dst = appendComma(dst)
		dst = append(dst, `"claims":`...)
		dst = appendJSONValue(dst, a.Claims)
		dst = append(dst, `,"scopes":`...)
		dst = appendScopes(dst, a.Scopes)
		reserved["claims"], reserved["scopes"] = true, true
	}
	for _, k := range sortedKeys(a.Context) {
		if reserved[k] {
			continue
		}
		dst = appendComma(dst)
		dst = appendString(dst, k)
		dst = append(dst, ':')
		dst = appendJSONValue(dst, a.Context[k])
	}
	return append(dst, '}')
}

// appendIdentityV1 writes the members payload 1.0's requestContext.identity
// gains from authentication: apiKeyId (the API key's name; the key itself
// is never copied into an event) and clientCert.
func appendIdentityV1(dst []byte, a *Authorizer) []byte {
	if a == nil {
		return append(dst, `,"apiKey":null,"apiKeyId":null`...)
	}
	dst = append(dst, `,"apiKey":null,"apiKeyId":`...)
	if a.APIKey != "" {
		dst = appendString(dst, a.APIKey)
	} else {
		dst = append(dst, "null"...)
	}
	if a.ClientCert != nil {
		dst = append(dst, `,"clientCert":`...)
		dst = appendClientCert(dst, a.ClientCert)
	}
	return dst
}

// appendAuthorizerV2 writes payload 2.0's requestContext.authorizer
// ({"jwt":{"claims","scopes"}} and {"lambda":{...context}}) and
// requestContext.authentication.clientCert. HTTP APIs pass JWT claims as
// strings (numbers and booleans as their JSON text, arrays as
// "[a b]"), so payload 2.0 does too.
func appendAuthorizerV2(dst []byte, a *Authorizer) []byte {
	if a.authorizes() {
		dst = append(dst, `,"authorizer":{`...)
		if a.Claims != nil {
			dst = append(dst, `"jwt":{"claims":{`...)
			for i, k := range sortedKeys(a.Claims) {
				if i > 0 {
					dst = append(dst, ',')
				}
				dst = appendString(dst, k)
				dst = append(dst, ':')
				dst = appendString(dst, claimString(a.Claims[k]))
			}
			dst = append(dst, `},"scopes":`...)
			dst = appendScopes(dst, a.Scopes)
			dst = append(dst, '}')
		}
		if a.Context != nil || a.PrincipalID != "" {
			dst = appendComma(dst)
			dst = append(dst, `"lambda":`...)
			if a.Context == nil {
				dst = append(dst, "{}"...)
			} else {
				dst = appendJSONValue(dst, a.Context)
			}
		}
		dst = append(dst, '}')
	}
	if a.ClientCert != nil {
		dst = append(dst, `,"authentication":{"clientCert":`...)
		dst = appendClientCert(dst, a.ClientCert)
		dst = append(dst, '}')
	}
	return dst
}

// appendClientCert writes API Gateway's clientCert object; validity dates
// are in OpenSSL's notation, as API Gateway shows them.
func appendClientCert(dst []byte, c *ClientCert) []byte {
	dst = append(dst, '{')
	dst = appendStringField(dst, "clientCertPem", c.PEM)
	dst = appendStringField(dst, "subjectDN", c.SubjectDN)
	dst = appendStringField(dst, "issuerDN", c.IssuerDN)
	dst = appendStringField(dst, "serialNumber", c.SerialNumber)
	dst = append(dst, `,"validity":{`...)
	dst = appendStringField(dst, "notBefore", opensslTime(c.NotBefore))
	dst = appendStringField(dst, "notAfter", opensslTime(c.NotAfter))
	return append(dst, '}', '}')
}

func opensslTime(t time.Time) string {
	return t.UTC().Format("Jan _2 15:04:05 2006 GMT")
}

func appendScopes(dst []byte, scopes []string) []byte {
	if scopes == nil {
		return append(dst, "null"...)
	}
	return appendStringList(dst, scopes)
}

// appendJSONValue appends v as JSON; a value that cannot be encoded (a
// float NaN from a misbehaving authorizer) becomes null, so the event
// stays valid JSON.
func appendJSONValue(dst []byte, v any) []byte {
	b, err := json.Marshal(v)
	if err != nil {
		return append(dst, "null"...)
	}
	return append(dst, b...)
}

// claimString is a claim as HTTP APIs pass it: strings unchanged, arrays
// as "[a b]", anything else as its JSON text.
func claimString(v any) string {
	switch v := v.(type) {
	case string:
		return v
	case []any:
		parts := make([]string, len(v))
		for i, e := range v {
			parts[i] = claimString(e)
		}
		return "[" + strings.Join(parts, " ") + "]"
	case float64:
		return strconv.FormatFloat(v, 'f', -1, 64)
	case nil:
		return ""
	}
	b, err := json.Marshal(v)
	if err != nil {
		return ""
	}
	return string(b)
}
