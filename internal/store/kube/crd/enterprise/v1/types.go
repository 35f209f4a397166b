package v1

import (
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	core "github.com/lambdagate/lambdagate/api/core/v1"
	enterprise "github.com/lambdagate/lambdagate/api/enterprise/v1"
)

// AuthConfig is Gloo Enterprise's AuthConfig: the authentication routes
// and virtual hosts ask for with options.extauth.configRef.
//
// +kubebuilder:object:root=true
// +kubebuilder:subresource:status
// +kubebuilder:resource:shortName=ac,categories=gloo;solo-io
// +kubebuilder:printcolumn:name="Status",type=string,JSONPath=".status.state"
// +kubebuilder:printcolumn:name="Age",type=date,JSONPath=".metadata.creationTimestamp"
type AuthConfig struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata,omitempty"`
	Spec              enterprise.AuthConfigSpec `json:"spec"`
	Status            *core.Status              `json:"status,omitempty"`
}
