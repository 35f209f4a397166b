// Package v1 is the gloo.solo.io/v1 group for CRD generation only.
//
// +kubebuilder:object:generate=false
// +groupName=gloo.solo.io
package v1
