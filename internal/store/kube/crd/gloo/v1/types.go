package v1

import (
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	core "github.com/lambdagate/lambdagate/api/core/v1"
	gateway "github.com/lambdagate/lambdagate/api/gateway/v1"
	gloo "github.com/lambdagate/lambdagate/api/gloo/v1"
)

// Upstream is Gloo's Upstream; lambdagate serves the aws type.
//
// +kubebuilder:object:root=true
// +kubebuilder:subresource:status
// +kubebuilder:resource:shortName=us,categories=gloo;solo-io
// +kubebuilder:printcolumn:name="Status",type=string,JSONPath=".status.state"
// +kubebuilder:printcolumn:name="Region",type=string,JSONPath=".spec.aws.region"
// +kubebuilder:printcolumn:name="Age",type=date,JSONPath=".metadata.creationTimestamp"
type Upstream struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata,omitempty"`
	Spec              gloo.UpstreamSpec `json:"spec"`
	Status            *core.Status      `json:"status,omitempty"`
}

// Settings is Gloo's Settings; lambdagate reads its AWS and discovery
// options.
//
// +kubebuilder:object:root=true
// +kubebuilder:subresource:status
// +kubebuilder:resource:categories=gloo;solo-io
type Settings struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata,omitempty"`
	Spec              gloo.SettingsSpec `json:"spec"`
	Status            *core.Status      `json:"status,omitempty"`
}

// UpstreamGroup is Gloo's UpstreamGroup: weighted destinations that routes
// reference by name.
//
// +kubebuilder:object:root=true
// +kubebuilder:subresource:status
// +kubebuilder:resource:shortName=ug,categories=gloo;solo-io
// +kubebuilder:printcolumn:name="Status",type=string,JSONPath=".status.state"
// +kubebuilder:printcolumn:name="Age",type=date,JSONPath=".metadata.creationTimestamp"
type UpstreamGroup struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata,omitempty"`
	Spec              gateway.UpstreamGroupSpec `json:"spec"`
	Status            *core.Status              `json:"status,omitempty"`
}
