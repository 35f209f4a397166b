package extauth

import (
	"encoding/json"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/lambdagate/lambdagate/internal/gateway/pipeline"
	"github.com/lambdagate/lambdagate/internal/lambda"
)

func TestEvaluatePolicy(t *testing.T) {
	const arn = "arn:aws:execute-api:us-east-1:123456789012:lambdagate/$default/GET/pets/1"
	cases := []struct {
		name, doc string
		want      bool
	}{
		{"allow exact", `{"Statement":[{"Effect":"Allow","Action":"execute-api:Invoke","Resource":"` + arn + `"}]}`, true},
		{"one statement, not a list", `{"Statement":{"Effect":"Allow","Action":"execute-api:Invoke","Resource":"` + arn + `"}}`, true},
		{"lower-case effect", `{"Statement":[{"Effect":"allow","Action":"execute-api:Invoke","Resource":"` + arn + `"}]}`, true},
		{"star", `{"Statement":[{"Effect":"Allow","Action":"*","Resource":"*"}]}`, true},
		{"wildcards", `{"Statement":[{"Effect":"Allow","Action":"execute-api:*","Resource":"arn:aws:execute-api:*:*:lambdagate/*/GET/pets/?"}]}`, true},
		{"wildcard too short", `{"Statement":[{"Effect":"Allow","Action":"execute-api:*","Resource":"arn:aws:execute-api:*:*:lambdagate/*/GET/pets/??"}]}`, false},
		{"other method", `{"Statement":[{"Effect":"Allow","Action":"execute-api:Invoke","Resource":"arn:aws:execute-api:*:*:*/*/POST/*"}]}`, false},
		{"deny wins", `{"Statement":[{"Effect":"Allow","Action":"*","Resource":"*"},{"Effect":"Deny","Action":["execute-api:Invoke"],"Resource":["*/pets/*"]}]}`, false},
		{"other action", `{"Statement":[{"Effect":"Allow","Action":"execute-api:ManageConnections","Resource":"*"}]}`, false},
		{"resources list", `{"Statement":[{"Effect":"Allow","Action":"execute-api:Invoke","Resource":["x","` + arn + `"]}]}`, true},
	}
	for _, tc := range cases {
		p, ok := parsePolicy(json.RawMessage(tc.doc))
		if !ok {
			t.Errorf("%s: policy refused", tc.name)
			continue
		}
		if got := evaluate(p, arn); got != tc.want {
			t.Errorf("%s: %v, want %v", tc.name, got, tc.want)
		}
	}
	for _, bad := range []string{`{}`, `{"Statement":[]}`, `{"Statement":[{"Effect":"Maybe","Action":"*","Resource":"*"}]}`,
		`{"Statement":[{"Effect":"Allow","Resource":"*"}]}`, `{"Statement":[{"Effect":"Allow","Action":1,"Resource":"*"}]}`, `[]`} {
		if _, ok := parsePolicy(json.RawMessage(bad)); ok {
			t.Errorf("policy %s accepted", bad)
		}
	}
}

func TestWildcard(t *testing.T) {
	for _, tc := range []struct {
		p, s string
		want bool
	}{
		{"", "", true}, {"*", "", true}, {"a*c", "abbbc", true}, {"a*c", "abbb", false},
		{"a?c", "abc", true}, {"a?c", "ac", false}, {"*b*", "aaabaaa", true}, {"**", "x", true}, {"a", "ab", false},
	} {
		if got := wildcard(tc.p, tc.s); got != tc.want {
			t.Errorf("wildcard(%q, %q) = %v, want %v", tc.p, tc.s, got, tc.want)
		}
	}
}

// FuzzAuthorizerAnswer feeds arbitrary authorizer answers to the parser
// and the policy evaluation: they must never panic.
func FuzzAuthorizerAnswer(f *testing.F) {
	f.Add([]byte(`{"principalId":"u","policyDocument":{"Statement":[{"Effect":"Allow","Action":"*","Resource":"*"}]},"context":{"a":1}}`), false)
	f.Add([]byte(`{"isAuthorized":true,"context":{"a":[1]}}`), true)
	f.Fuzz(func(t *testing.T, body []byte, simple bool) {
		for _, v2 := range []bool{false, true} {
			a := &Authorizer{V2: v2 || simple, Simple: simple}
			if d, ok := a.parse(body); ok && !d.simple {
				evaluate(d.policy, "arn:aws:execute-api:us-east-1:1:a/s/GET/x")
			}
		}
	})
}

func BenchmarkAuthorizerCacheHit(b *testing.B) {
	a := NewAuthorizer(Authorizer{Target: benchTarget, V2: true, TTL: time.Hour, Sources: []Source{header("Authorization")}}, "bench")
	req := httptest.NewRequest("GET", "/pets/1", nil)
	req.Header.Set("Authorization", "token-1")
	pol, _ := parsePolicy(json.RawMessage(`{"Statement":[{"Effect":"Allow","Action":"execute-api:Invoke","Resource":"arn:aws:execute-api:*:*:*/*/GET/pets/*"}]}`))
	a.cache.put("token-1", &decision{policy: pol, principal: "u", context: map[string]any{"k": "v"}, expires: time.Now().Add(time.Hour)}, time.Now())
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		x := pipeline.Exchange{}
		if err := a.FilterRequest(nil, req, &x); err != nil {
			b.Fatal(err)
		}
	}
}

var benchTarget = &lambda.Target{Region: "us-east-1"}
