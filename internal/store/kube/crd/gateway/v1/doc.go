// Package v1 is the gateway.solo.io/v1 group for CRD generation only.
//
// +kubebuilder:object:generate=false
// +groupName=gateway.solo.io
package v1
