package translate

import (
	"encoding/base64"
	"fmt"
	"strings"
	"testing"

	core "github.com/lambdagate/lambdagate/api/core/v1"
	"github.com/lambdagate/lambdagate/internal/awscreds"
	"github.com/lambdagate/lambdagate/internal/resource"
)

// A credential goes into request headers (the key id in Authorization, the
// token in X-Amz-Security-Token): a CR or LF there would inject headers or
// a second request into the Invoke call. Such a secret rejects its
// upstreams, naming the secret and the key, never the value.
func TestSecretWithControlBytesRejectsTheUpstream(t *testing.T) {
	const marker = "INJECTED"
	flat := func(id, key, token string) string {
		return fmt.Sprintf("data: {aws_access_key_id: %s, aws_secret_access_key: %s, aws_session_token: %s}",
			b64(id), b64(key), b64(token))
	}
	glooctl := func(token string) string {
		return fmt.Sprintf("data: {aws: %s}", b64("accessKey: AKID\nsecretKey: SECRET\nsessionToken: \""+token+"\"\n"))
	}
	cases := []struct {
		name, data, key string // key "" : accepted
	}{
		{"CR LF in the session token", flat("AKID", "SECRET", "TOKEN\r\nX-"+marker+": 1\r\n\r\nGET / HTTP/1.1"), "aws_session_token"},
		{"LF in the key id", flat("AKID\n"+marker, "SECRET", "TOKEN"), "aws_access_key_id"},
		{"ESC in the secret key", flat("AKID", "SEC\x1b"+marker, "TOKEN"), "aws_secret_access_key"},
		{"NUL in the session token", flat("AKID", "SECRET", "TO\x00"+marker), "aws_session_token"},
		{"DEL in the key id", flat("AK\x7fID"+marker, "SECRET", "TOKEN"), "aws_access_key_id"},
		{"space inside the key id", flat("AK ID"+marker, "SECRET", "TOKEN"), "aws_access_key_id"},
		{"non-ASCII in the session token", flat("AKID", "SECRET", "TOKEN\u00e9"+marker), "aws_session_token"},
		{"glooctl form, CR LF in sessionToken", glooctl(`TOKEN\r\nX-` + marker + `: 1`), "sessionToken"},
		{"trailing newline (trimmed)", flat("AKID\n", "SECRET\n", "TOKEN\r\n"), ""},
		{"base64 token", flat("AKIDEXAMPLE", "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY", "IQoJb3JpZ2luX2VjEJr//////////wEaCXVzLWVhc3QtMSJHMEUCIQ+/="), ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			objs, err := resource.DecodeAll(strings.NewReader(`
apiVersion: v1
kind: Secret
metadata: {name: creds, namespace: gloo-system}
`+tc.data+`
---
apiVersion: gloo.solo.io/v1
kind: Upstream
metadata: {name: up, namespace: gloo-system}
spec:
  aws: {region: us-east-1, secretRef: {name: creds}}
`), "test")
			if err != nil {
				t.Fatal(err)
			}
			snap := Translate(FromObjects(objs), awscreds.New(awscreds.Options{Getenv: func(string) string { return "" }}), Env{})
			st := snap.Statuses["Upstream gloo-system/up"]
			if tc.key == "" {
				if st.State != core.StateAccepted {
					t.Fatalf("status %s: %s, want Accepted", st.State, st.Reason)
				}
				return
			}
			if st.State != core.StateRejected || !strings.Contains(st.Reason, "secret gloo-system/creds") || !strings.Contains(st.Reason, tc.key) {
				t.Fatalf("status %s: %q, want Rejected naming secret gloo-system/creds and %s", st.State, st.Reason, tc.key)
			}
			if strings.Contains(st.Reason, marker) || strings.ContainsAny(st.Reason, "\r\n\x00\x1b\x7f") {
				t.Errorf("the reason shows the value: %q", st.Reason)
			}
		})
	}
}

func b64(s string) string { return base64.StdEncoding.EncodeToString([]byte(s)) }
