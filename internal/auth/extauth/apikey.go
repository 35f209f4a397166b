package extauth

import (
	"crypto/sha256"
	"crypto/subtle"
	"fmt"
	"net/http"
	"slices"

	"github.com/lambdagate/lambdagate/internal/gateway/pipeline"
	"github.com/lambdagate/lambdagate/internal/transform"
)

// APIKey is one stored API key: the Secret holding it and its metadata.
type APIKey struct {
	// Name is the Secret's name: what logs, events (apiKeyId) and
	// per-key rate limits see. Never the key.
	Name string
	// Key is the key itself, compared in constant time.
	Key []byte
	// Metadata are the Secret's other data entries.
	Metadata map[string]string
}

// MetadataHeader copies a key's metadata entry into a request header
// (Gloo's headersFromMetadataEntry).
type MetadataHeader struct {
	// Header is the canonical header name.
	Header string
	// Entry is the metadata key.
	Entry string
	// Required refuses a key without the entry.
	Required bool
}

// APIKeys is Gloo's apiKeyAuth: the request must carry one of the keys
// in Header. Keys are found by the SHA-256 of the key, so a lookup costs
// the same whatever the number of keys, and the found key is then
// compared in constant time, so the answer's timing tells nothing about
// how much of a key was right.
type APIKeys struct {
	header  string
	byHash  map[[sha256.Size]byte]*APIKey
	headers []MetadataHeader
}

// NewAPIKeys returns the filter for the keys, read from header (a
// canonical name). Two Secrets holding the same key: the first wins.
func NewAPIKeys(header string, keys []APIKey, headers []MetadataHeader) *APIKeys {
	a := &APIKeys{header: header, byHash: make(map[[sha256.Size]byte]*APIKey, len(keys)), headers: headers}
	for i := range keys {
		h := sha256.Sum256(keys[i].Key)
		if _, dup := a.byHash[h]; !dup {
			a.byHash[h] = &keys[i]
		}
	}
	return a
}

// FilterRequest accepts the request when its key is one of the stored
// keys, and names the key's Secret in Exchange.Auth.APIKey.
func (a *APIKeys) FilterRequest(_ http.ResponseWriter, r *http.Request, x *pipeline.Exchange) error {
	v := r.Header[a.header]
	if len(v) == 0 || v[0] == "" {
		return denyMissingKey
	}
	h := sha256.Sum256([]byte(v[0]))
	k := a.byHash[h]
	if k == nil || subtle.ConstantTimeCompare(k.Key, []byte(v[0])) != 1 {
		return denyInvalidKey
	}
	for _, mh := range a.headers {
		val, ok := k.Metadata[mh.Entry]
		if !ok && mh.Required {
			return denyKeyMetadata
		}
		// The client's own value never reaches the function as if it
		// came from the key's metadata.
		delete(r.Header, mh.Header)
		if ok {
			r.Header[mh.Header] = []string{val}
		}
	}
	if x.Auth == nil {
		x.Auth = &transform.Authorizer{}
	}
	x.Auth.APIKey = k.Name
	return nil
}

// Describe names the filter for tests and dumps: the header and the
// keys' Secret names, never a key.
func (a *APIKeys) Describe() string {
	names := make([]string, 0, len(a.byHash))
	for _, k := range a.byHash {
		names = append(names, k.Name)
	}
	slices.Sort(names)
	return fmt.Sprintf("apiKeyAuth header=%s keys=%v headersFromMetadata=%+v", a.header, names, a.headers)
}
