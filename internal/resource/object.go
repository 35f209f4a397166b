// Package resource ties the API types together: the Object interface every
// resource implements, the registry of kinds, strict decoding of manifests
// and static validation.
package resource

import (
	"encoding/json"
	"fmt"
	"sort"
	"strings"

	core "github.com/lambdagate/lambdagate/api/core/v1"
	enterprise "github.com/lambdagate/lambdagate/api/enterprise/v1"
	gateway "github.com/lambdagate/lambdagate/api/gateway/v1"
	gloo "github.com/lambdagate/lambdagate/api/gloo/v1"
)

// Kind names a resource kind as it appears in manifests.
type Kind string

// The kinds lambdagate stores.
const (
	KindUpstream       Kind = "Upstream"
	KindVirtualService Kind = "VirtualService"
	KindSecret         Kind = "Secret"
	KindSettings       Kind = "Settings"
	KindUpstreamGroup  Kind = "UpstreamGroup"
	KindRouteTable     Kind = "RouteTable"
	KindAuthConfig     Kind = "AuthConfig"
)

// Kinds lists every kind in dependency order: what a kind references comes
// before it, so applying in this order never points at a missing resource.
var Kinds = []Kind{KindSettings, KindSecret, KindUpstream, KindUpstreamGroup, KindRouteTable, KindAuthConfig, KindVirtualService}

// Object is implemented by every stored resource.
type Object interface {
	GetMetadata() *core.ObjectMeta
	// GetStatus returns nil for kinds without a status (Secret).
	GetStatus() *core.Status
	SetStatus(*core.Status)
	GetKind() Kind
}

type kindInfo struct {
	apiVersion string
	plural     string
	short      []string
	hasStatus  bool
	new        func() Object
}

var kinds = map[Kind]kindInfo{
	KindUpstream: {gloo.APIVersion, "upstreams", []string{"us", "upstream"}, true,
		func() Object { return &Upstream{} }},
	KindVirtualService: {gateway.APIVersion, "virtualservices", []string{"vs", "virtualservice"}, true,
		func() Object { return &VirtualService{} }},
	KindSecret: {"v1", "secrets", []string{"secret"}, false,
		func() Object { return &Secret{} }},
	KindSettings: {gloo.APIVersion, "settings", []string{"setting"}, true,
		func() Object { return &Settings{} }},
	KindUpstreamGroup: {gloo.APIVersion, "upstreamgroups", []string{"ug", "upstreamgroup"}, true,
		func() Object { return &UpstreamGroup{} }},
	KindRouteTable: {gateway.APIVersion, "routetables", []string{"rt", "routetable"}, true,
		func() Object { return &RouteTable{} }},
	KindAuthConfig: {enterprise.APIVersion, "authconfigs", []string{"ac", "authconfig"}, true,
		func() Object { return &AuthConfig{} }},
}

// Upstream, VirtualService, Secret, Settings, UpstreamGroup and RouteTable wrap the API types so they
// implement Object without the API packages depending on this one.
type (
	Upstream       struct{ gloo.Upstream }
	VirtualService struct{ gateway.VirtualService }
	Secret         struct{ core.Secret }
	Settings       struct{ gloo.Settings }
	UpstreamGroup  struct{ gateway.UpstreamGroup }
	RouteTable     struct{ gateway.RouteTable }
	AuthConfig     struct{ enterprise.AuthConfig }
)

func (o *AuthConfig) GetMetadata() *core.ObjectMeta { return &o.Metadata }
func (o *AuthConfig) GetStatus() *core.Status       { return o.Status }
func (o *AuthConfig) SetStatus(s *core.Status)      { o.Status = s }
func (o *AuthConfig) GetKind() Kind                 { return KindAuthConfig }
func (o *AuthConfig) MarshalJSON() ([]byte, error)  { return json.Marshal(&o.AuthConfig) }
func (o *AuthConfig) UnmarshalJSON(b []byte) error  { return json.Unmarshal(b, &o.AuthConfig) }

func (o *Upstream) GetMetadata() *core.ObjectMeta       { return &o.Metadata }
func (o *VirtualService) GetMetadata() *core.ObjectMeta { return &o.Metadata }
func (o *Secret) GetMetadata() *core.ObjectMeta         { return &o.Metadata }
func (o *Settings) GetMetadata() *core.ObjectMeta       { return &o.Metadata }
func (o *UpstreamGroup) GetMetadata() *core.ObjectMeta  { return &o.Metadata }
func (o *RouteTable) GetMetadata() *core.ObjectMeta     { return &o.Metadata }

func (o *Upstream) GetStatus() *core.Status       { return o.Status }
func (o *VirtualService) GetStatus() *core.Status { return o.Status }
func (o *Secret) GetStatus() *core.Status         { return nil }
func (o *Settings) GetStatus() *core.Status       { return o.Status }
func (o *UpstreamGroup) GetStatus() *core.Status  { return o.Status }
func (o *RouteTable) GetStatus() *core.Status     { return o.Status }

func (o *Upstream) SetStatus(s *core.Status)       { o.Status = s }
func (o *VirtualService) SetStatus(s *core.Status) { o.Status = s }
func (o *Secret) SetStatus(*core.Status)           {}
func (o *Settings) SetStatus(s *core.Status)       { o.Status = s }
func (o *UpstreamGroup) SetStatus(s *core.Status)  { o.Status = s }
func (o *RouteTable) SetStatus(s *core.Status)     { o.Status = s }

func (o *Upstream) GetKind() Kind       { return KindUpstream }
func (o *VirtualService) GetKind() Kind { return KindVirtualService }
func (o *Secret) GetKind() Kind         { return KindSecret }
func (o *Settings) GetKind() Kind       { return KindSettings }
func (o *UpstreamGroup) GetKind() Kind  { return KindUpstreamGroup }
func (o *RouteTable) GetKind() Kind     { return KindRouteTable }

// MarshalJSON and UnmarshalJSON delegate to the wrapped type so that the
// wrapper is invisible in JSON.
func (o *Upstream) MarshalJSON() ([]byte, error)       { return json.Marshal(&o.Upstream) }
func (o *VirtualService) MarshalJSON() ([]byte, error) { return json.Marshal(&o.VirtualService) }
func (o *Secret) MarshalJSON() ([]byte, error)         { return json.Marshal(&o.Secret) }
func (o *Settings) MarshalJSON() ([]byte, error)       { return json.Marshal(&o.Settings) }
func (o *Upstream) UnmarshalJSON(b []byte) error       { return json.Unmarshal(b, &o.Upstream) }
func (o *VirtualService) UnmarshalJSON(b []byte) error { return json.Unmarshal(b, &o.VirtualService) }
func (o *Secret) UnmarshalJSON(b []byte) error         { return json.Unmarshal(b, &o.Secret) }
func (o *Settings) UnmarshalJSON(b []byte) error       { return json.Unmarshal(b, &o.Settings) }
func (o *UpstreamGroup) MarshalJSON() ([]byte, error)  { return json.Marshal(&o.UpstreamGroup) }
func (o *UpstreamGroup) UnmarshalJSON(b []byte) error  { return json.Unmarshal(b, &o.UpstreamGroup) }
func (o *RouteTable) MarshalJSON() ([]byte, error)     { return json.Marshal(&o.RouteTable) }
func (o *RouteTable) UnmarshalJSON(b []byte) error     { return json.Unmarshal(b, &o.RouteTable) }

var (
	_ Object = (*Upstream)(nil)
	_ Object = (*VirtualService)(nil)
	_ Object = (*Secret)(nil)
	_ Object = (*Settings)(nil)
	_ Object = (*UpstreamGroup)(nil)
	_ Object = (*RouteTable)(nil)
	_ Object = (*AuthConfig)(nil)
)

// New returns an empty object of the kind, with apiVersion and kind set.
func New(k Kind) (Object, error) {
	info, ok := kinds[k]
	if !ok {
		return nil, fmt.Errorf("unknown kind %q: must be one of %s", k, kindList())
	}
	o := info.new()
	setTypeMeta(o)
	return o, nil
}

// APIVersion returns the apiVersion of a kind.
func APIVersion(k Kind) string { return kinds[k].apiVersion }

// HasStatus reports whether the kind carries a status.
func HasStatus(k Kind) bool { return kinds[k].hasStatus }

// Plural returns the lower-case plural of a kind ("upstreams").
func Plural(k Kind) string { return kinds[k].plural }

// ParseKind resolves what a user types (kind, plural or short name, any
// case) to a Kind.
func ParseKind(s string) (Kind, error) {
	l := strings.ToLower(s)
	for k, info := range kinds {
		if l == strings.ToLower(string(k)) || l == info.plural {
			return k, nil
		}
		for _, sh := range info.short {
			if l == sh {
				return k, nil
			}
		}
	}
	return "", fmt.Errorf("unknown resource type %q: must be one of %s", s, kindList())
}

func kindList() string {
	var names []string
	for k, info := range kinds {
		n := string(k)
		if len(info.short) > 0 && info.short[0] != strings.ToLower(n) {
			n += " (" + info.short[0] + ")"
		}
		names = append(names, n)
	}
	sort.Strings(names)
	return strings.Join(names, ", ")
}

func setTypeMeta(o Object) {
	av, k := kinds[o.GetKind()].apiVersion, string(o.GetKind())
	switch t := o.(type) {
	case *Upstream:
		t.APIVersion, t.Kind = av, k
	case *VirtualService:
		t.APIVersion, t.Kind = av, k
	case *Secret:
		t.APIVersion, t.Kind = av, k
	case *Settings:
		t.APIVersion, t.Kind = av, k
	case *UpstreamGroup:
		t.APIVersion, t.Kind = av, k
	case *RouteTable:
		t.APIVersion, t.Kind = av, k
	case *AuthConfig:
		t.APIVersion, t.Kind = av, k
	}
}

// Ref returns "Kind namespace/name", the way messages name a resource.
func Ref(o Object) string {
	m := o.GetMetadata()
	return fmt.Sprintf("%s %s/%s", o.GetKind(), m.Namespace, m.Name)
}

// DeepCopy returns an independent copy of o.
func DeepCopy(o Object) Object {
	b, err := json.Marshal(o)
	if err != nil {
		panic(fmt.Sprintf("resource: marshal %s: %v", Ref(o), err))
	}
	c, _ := New(o.GetKind())
	if err := json.Unmarshal(b, c); err != nil {
		panic(fmt.Sprintf("resource: unmarshal %s: %v", Ref(o), err))
	}
	return c
}

// The Settings resource lambdagate reads, as Gloo does: one, by name.
const (
	SettingsNamespace = core.DefaultNamespace
	SettingsName      = "default"
)
