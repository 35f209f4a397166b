// Package v1 holds the types shared by every lambdagate resource: object
// metadata, the Gloo-shaped status, references, durations and the core/v1
// Secret that carries AWS and TLS credentials.
package v1

import (
	"encoding/json"
	"fmt"
	"strings"
	"time"
)

// DefaultNamespace is the namespace used when a resource or a CLI call names
// none, as in Gloo's walkthrough.
const DefaultNamespace = "gloo-system"

// ObjectMeta is the subset of Kubernetes object metadata lambdagate keeps.
// The store owns resourceVersion, generation, uid and creationTimestamp:
// values sent by a client are ignored except resourceVersion, which is used
// for optimistic concurrency.
type ObjectMeta struct {
	// Name is required: a DNS-1123 subdomain.
	Name string `json:"name"`
	// Namespace defaults to "gloo-system".
	Namespace   string            `json:"namespace,omitempty"`
	Labels      map[string]string `json:"labels,omitempty"`
	Annotations map[string]string `json:"annotations,omitempty"`
	// ResourceVersion changes on every write; an update that carries a stale
	// value is refused with a conflict.
	ResourceVersion string `json:"resourceVersion,omitempty"`
	// Generation counts changes to the spec (not to the status).
	Generation        int64      `json:"generation,omitempty"`
	UID               string     `json:"uid,omitempty"`
	CreationTimestamp *time.Time `json:"creationTimestamp,omitempty"`
}

// Key returns "namespace/name".
func (m *ObjectMeta) Key() string { return m.Namespace + "/" + m.Name }

// State is a resource's validation state, with Gloo's names.
type State string

// The states Gloo reports.
const (
	StatePending  State = "Pending"
	StateAccepted State = "Accepted"
	StateRejected State = "Rejected"
	StateWarning  State = "Warning"
)

// Status is the Gloo-shaped status a controller writes on each resource.
type Status struct {
	State State `json:"state,omitempty"`
	// Reason says why the resource is Rejected or has a Warning; empty when
	// Accepted.
	Reason string `json:"reason,omitempty"`
	// ReportedBy names the component that wrote the status ("lambdagate").
	ReportedBy string `json:"reportedBy,omitempty"`
	// ObservedGeneration is the metadata.generation the status describes.
	ObservedGeneration int64 `json:"observedGeneration,omitempty"`
}

// ResourceRef points at another resource by name and namespace.
type ResourceRef struct {
	Name string `json:"name"`
	// Namespace defaults to the namespace of the referring resource.
	Namespace string `json:"namespace,omitempty"`
}

func (r ResourceRef) String() string { return r.Namespace + "/" + r.Name }

// Duration is a protobuf-JSON duration ("1.5s") that also accepts Go
// durations ("15m", "100ms") and a number of seconds.
// +kubebuilder:validation:Type=string
type Duration struct {
	// The JSON form comes from MarshalJSON/UnmarshalJSON; the tag tells
	// schema generators not to describe the embedded field.
	time.Duration `json:"-"`
}

// MarshalJSON writes the protobuf JSON form, seconds with an "s" suffix.
func (d Duration) MarshalJSON() ([]byte, error) {
	s := strings.TrimRight(strings.TrimRight(fmt.Sprintf("%.9f", d.Seconds()), "0"), ".")
	return json.Marshal(s + "s")
}

// UnmarshalJSON accepts "1.5s", "15m", "100ms" or a JSON number of seconds.
func (d *Duration) UnmarshalJSON(b []byte) error {
	var n float64
	if err := json.Unmarshal(b, &n); err == nil {
		if n > float64(maxDurationSeconds) || n < -float64(maxDurationSeconds) {
			return fmt.Errorf("invalid value %v: must be at most %d seconds", n, int64(maxDurationSeconds))
		}
		d.Duration = time.Duration(n * float64(time.Second))
		return d.check()
	}
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		return fmt.Errorf("must be a duration such as \"15s\" or \"1m30s\"")
	}
	v, err := time.ParseDuration(s)
	if err != nil {
		return fmt.Errorf("invalid duration %q: must be a duration such as \"15s\" or \"1m30s\"", s)
	}
	d.Duration = v
	return d.check()
}

// maxDurationSeconds keeps a number of seconds inside time.Duration.
const maxDurationSeconds = (1<<63 - 1) / int64(time.Second)

func (d *Duration) check() error {
	if d.Duration < 0 {
		return fmt.Errorf("duration %s must not be negative", d.Duration)
	}
	return nil
}

// Secret is a Kubernetes core/v1 Secret. lambdagate reads AWS credentials and
// TLS certificates from it.
type Secret struct {
	APIVersion string     `json:"apiVersion"`
	Kind       string     `json:"kind"`
	Metadata   ObjectMeta `json:"metadata"`
	// Type is the Kubernetes secret type, e.g. "Opaque" or
	// "kubernetes.io/tls". Defaults to "Opaque".
	Type string `json:"type,omitempty"`
	// Data holds base64-encoded values (decoded into bytes here).
	Data map[string][]byte `json:"data,omitempty"`
	// StringData holds plain values; on write they are merged into Data,
	// as the Kubernetes API server does.
	StringData map[string]string `json:"stringData,omitempty"`
	// Immutable is accepted for kubectl compatibility and otherwise ignored.
	Immutable *bool `json:"immutable,omitempty"`
}

// Secret keys of the plain Kubernetes AWS form (what Gloo writes).
const (
	AWSAccessKeyID     = "aws_access_key_id"
	AWSSecretAccessKey = "aws_secret_access_key"
	AWSSessionToken    = "aws_session_token"
	TLSCertKey         = "tls.crt"
	TLSPrivateKeyKey   = "tls.key"
	TLSRootCAKey       = "ca.crt"
)

// BadCredentialByte returns the index of the first byte of an AWS
// credential value (key id, secret key or session token, surrounding
// white space already trimmed) outside printable ASCII without space, or
// -1. The key id and the token are sent as header values, where CR or LF
// would inject headers or a second request; AWS issues them from base64 or
// upper-case alphanumeric alphabets.
func BadCredentialByte(v string) int {
	for i := 0; i < len(v); i++ {
		if v[i] <= ' ' || v[i] >= 0x7f {
			return i
		}
	}
	return -1
}

// BadCredentialMessage says why a value BadCredentialByte refused is
// refused, without quoting it (it is a secret).
func BadCredentialMessage(at int) string {
	return fmt.Sprintf("has a character that is not printable ASCII at byte %d (AWS credentials are letters, digits and + / =; a control character such as CR or LF would corrupt the signed request)", at)
}
