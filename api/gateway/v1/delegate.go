package v1

import (
	core "github.com/lambdagate/lambdagate/api/core/v1"
)

// DelegateAction is Gloo's DelegateAction (virtual_service.proto): the
// route's requests are routed by the routes of one RouteTable (ref) or of
// every RouteTable a selector matches. Exactly one of ref and selector.
type DelegateAction struct {
	// Name and Namespace are Gloo's deprecated spelling of ref; when
	// either is set, ref and selector are ignored (as in Gloo).
	Name      string `json:"name,omitempty"`
	Namespace string `json:"namespace,omitempty"`
	// Ref names one RouteTable. Default namespace: the namespace of the
	// resource holding this route.
	Ref *core.ResourceRef `json:"ref,omitempty"`
	// Selector matches RouteTables by namespace and labels.
	Selector *RouteTableSelector `json:"selector,omitempty"`
}

// RouteTableSelector is Gloo's RouteTableSelector.
type RouteTableSelector struct {
	// Namespaces the RouteTables may be in; "*" is every namespace.
	// Default: the namespace of the resource holding this route.
	Namespaces []string `json:"namespaces,omitempty"`
	// Labels a RouteTable must carry, all of them. At most one of labels
	// and expressions. Default: none.
	Labels map[string]string `json:"labels,omitempty"`
	// Expressions a RouteTable's labels must all satisfy. Default: none.
	Expressions []RouteTableSelectorExpression `json:"expressions,omitempty"`
}

// RouteTableSelectorExpression is Gloo's RouteTableSelector.Expression: a
// Kubernetes label requirement.
type RouteTableSelectorExpression struct {
	// Key is the label's key, required.
	Key string `json:"key,omitempty"`
	// Operator is one of Equals (the default), DoubleEquals, NotEquals,
	// In, NotIn, Exists, DoesNotExist, GreaterThan, LessThan.
	Operator string `json:"operator,omitempty"`
	// Values the operator compares the label's value with.
	Values []string `json:"values,omitempty"`
}

// RouteTable is Gloo's gateway.solo.io/v1 RouteTable: routes a virtual
// service (or another route table) delegates a path prefix to.
type RouteTable struct {
	APIVersion string          `json:"apiVersion"`
	Kind       string          `json:"kind"`
	Metadata   core.ObjectMeta `json:"metadata"`
	Spec       RouteTableSpec  `json:"spec"`
	Status     *core.Status    `json:"status,omitempty"`
}

// RouteTableSpec is the spec of Gloo's RouteTable.
type RouteTableSpec struct {
	// Routes are tried in order. Each one's path must start with the
	// prefix of the route delegating to the table.
	Routes []Route `json:"routes,omitempty"`
	// Weight orders the tables one selector matches: lower first. Default 0.
	Weight *int32 `json:"weight,omitempty"`
}
