package v1

import (
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	core "github.com/lambdagate/lambdagate/api/core/v1"
	gateway "github.com/lambdagate/lambdagate/api/gateway/v1"
)

// VirtualService is Gloo's VirtualService.
//
// +kubebuilder:object:root=true
// +kubebuilder:subresource:status
// +kubebuilder:resource:shortName=vs,categories=gloo;solo-io
// +kubebuilder:printcolumn:name="Status",type=string,JSONPath=".status.state"
// +kubebuilder:printcolumn:name="Age",type=date,JSONPath=".metadata.creationTimestamp"
type VirtualService struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata,omitempty"`
	Spec              gateway.VirtualServiceSpec `json:"spec"`
	Status            *core.Status               `json:"status,omitempty"`
}

// RouteTable is Gloo's RouteTable: routes a virtual service delegates a
// path prefix to.
//
// +kubebuilder:object:root=true
// +kubebuilder:subresource:status
// +kubebuilder:resource:shortName=rt,categories=gloo;solo-io
// +kubebuilder:printcolumn:name="Status",type=string,JSONPath=".status.state"
// +kubebuilder:printcolumn:name="Age",type=date,JSONPath=".metadata.creationTimestamp"
type RouteTable struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata,omitempty"`
	Spec              gateway.RouteTableSpec `json:"spec"`
	Status            *core.Status           `json:"status,omitempty"`
}
