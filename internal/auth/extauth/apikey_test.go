package extauth

import (
	"net/http/httptest"
	"testing"

	"github.com/lambdagate/lambdagate/internal/gateway/pipeline"
	"github.com/lambdagate/lambdagate/internal/httperr"
)

func TestAPIKeys(t *testing.T) {
	f := NewAPIKeys("Api-Key", []APIKey{
		{Name: "alice-key", Key: []byte("k-alice-123"), Metadata: map[string]string{"user-id": "alice"}},
		{Name: "bob-key", Key: []byte("k-bob-456")},
	}, []MetadataHeader{{Header: "X-User-Id", Entry: "user-id"}})
	required := NewAPIKeys("Api-Key", []APIKey{{Name: "bob-key", Key: []byte("k-bob-456")}},
		[]MetadataHeader{{Header: "X-User-Id", Entry: "user-id", Required: true}})
	cases := []struct {
		name    string
		f       *APIKeys
		key     string
		spoof   string
		status  int
		reason  string
		keyName string
		user    string
	}{
		{"alice", f, "k-alice-123", "", 200, "", "alice-key", "alice"},
		{"bob has no user-id: the client's header is dropped", f, "k-bob-456", "mallory", 200, "", "bob-key", ""},
		{"a client's header is replaced", f, "k-alice-123", "mallory", 200, "", "alice-key", "alice"},
		{"missing", f, "", "", 401, ReasonMissingAPIKey, "", ""},
		{"wrong", f, "k-alice-124", "", 401, ReasonInvalidAPIKey, "", ""},
		{"prefix of a key", f, "k-alice-12", "", 401, ReasonInvalidAPIKey, "", ""},
		{"required metadata missing", required, "k-bob-456", "", 401, ReasonAPIKeyMetadata, "", ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r := httptest.NewRequest("GET", "/", nil)
			if tc.key != "" {
				r.Header.Set("api-key", tc.key)
			}
			if tc.spoof != "" {
				r.Header.Set("X-User-Id", tc.spoof)
			}
			x := &pipeline.Exchange{}
			err := tc.f.FilterRequest(nil, r, x)
			status := 200
			if err != nil {
				status, _, _, _ = httperr.Map(err)
			}
			if status != tc.status {
				t.Fatalf("status %d (%v), want %d", status, err, tc.status)
			}
			if err != nil {
				if d, ok := err.(*Denial); !ok || d.Reason != tc.reason {
					t.Fatalf("error %v, want reason %s", err, tc.reason)
				}
				if tc.key != "" && contains(err.Error(), tc.key) {
					t.Fatalf("the error %q quotes the key", err)
				}
				return
			}
			if x.Auth == nil || x.Auth.APIKey != tc.keyName {
				t.Fatalf("Auth %+v, want APIKey %q", x.Auth, tc.keyName)
			}
			if got := r.Header.Get("X-User-Id"); got != tc.user {
				t.Fatalf("X-User-Id %q, want %q", got, tc.user)
			}
		})
	}
}

func contains(s, sub string) bool {
	for i := 0; i+len(sub) <= len(s); i++ {
		if s[i:i+len(sub)] == sub {
			return true
		}
	}
	return false
}
