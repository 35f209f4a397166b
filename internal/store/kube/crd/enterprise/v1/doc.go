// Package v1 is the enterprise.gloo.solo.io/v1 group for CRD generation
// only.
//
// +kubebuilder:object:generate=false
// +groupName=enterprise.gloo.solo.io
package v1
