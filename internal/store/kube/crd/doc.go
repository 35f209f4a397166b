// Package crd holds generation-only root types for controller-gen: the
// CustomResourceDefinitions of deploy/crds are generated from them
// (scripts/gen-crds.sh). lambdagate's own API types carry their own
// ObjectMeta, not metav1's, so these wrappers put the same spec and status
// types under Kubernetes' object shape. Nothing in the gateway uses them at
// run time.
package crd

//go:generate ../../../../scripts/gen-crds.sh
