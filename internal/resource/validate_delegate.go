package resource

import (
	"fmt"
	"sort"
	"strings"

	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/selection"

	gateway "github.com/lambdagate/lambdagate/api/gateway/v1"
)

// SelectorOperators maps Gloo's RouteTableSelector.Expression operators
// to Kubernetes' label selection operators ("" is Equals, the default).
var SelectorOperators = map[string]selection.Operator{
	"":             selection.Equals,
	"Equals":       selection.Equals,
	"DoubleEquals": selection.DoubleEquals,
	"NotEquals":    selection.NotEquals,
	"In":           selection.In,
	"NotIn":        selection.NotIn,
	"Exists":       selection.Exists,
	"DoesNotExist": selection.DoesNotExist,
	"GreaterThan":  selection.GreaterThan,
	"LessThan":     selection.LessThan,
}

// SelectorRequirements compiles a selector's expressions; the error names
// the first bad one by its path below the selector.
func SelectorRequirements(s *gateway.RouteTableSelector) (labels.Requirements, error) {
	var reqs labels.Requirements
	for k, e := range s.Expressions {
		op, ok := SelectorOperators[e.Operator]
		if !ok {
			return nil, fmt.Errorf("expressions[%d].operator: unsupported value %q: must be one of %s", k, e.Operator, operatorNames())
		}
		r, err := labels.NewRequirement(e.Key, op, e.Values)
		if err != nil {
			return nil, fmt.Errorf("expressions[%d]: invalid label requirement: %v", k, err)
		}
		reqs = append(reqs, *r)
	}
	return reqs, nil
}

func (v *validator) expressions(p string, s *gateway.RouteTableSelector) {
	for k := range s.Expressions {
		one := &gateway.RouteTableSelector{Expressions: s.Expressions[k : k+1]}
		if _, err := SelectorRequirements(one); err != nil {
			field, msg, _ := strings.Cut(err.Error(), ": ")
			field = strings.Replace(field, "expressions[0]", fmt.Sprintf("expressions[%d]", k), 1)
			v.errorf(p+"."+field, "%s", msg)
		}
	}
}

func operatorNames() string {
	var n []string
	for k := range SelectorOperators {
		if k != "" {
			n = append(n, k)
		}
	}
	sort.Strings(n)
	return strings.Join(n, ", ")
}

// routeTable checks a RouteTable's routes as a virtual service's.
func (v *validator) routeTable(s *gateway.RouteTableSpec) {
	for i := range s.Routes {
		v.route = i
		v.routeSpec(fmt.Sprintf("spec.routes[%d]", i), &s.Routes[i])
	}
	v.route = -1
}

// delegate checks a route with delegateAction: Gloo's rules for the
// delegating route (at most one matcher, and a prefix one) and a target
// (ref, or a selector whose expressions compile).
func (v *validator) delegate(p string, r *gateway.Route) {
	switch {
	case len(r.Matchers) > 1:
		v.errorf(p+".matchers", "a route with delegateAction has at most one matcher, got %d", len(r.Matchers))
	case len(r.Matchers) == 1 && (r.Matchers[0].Exact != "" || r.Matchers[0].Regex != ""):
		v.errorf(p+".matchers[0]", "a route with delegateAction needs a prefix matcher (the prefix its route tables' routes start with)")
	}
	d, dp := r.DelegateAction, p+".delegateAction"
	if d.Name != "" || d.Namespace != "" {
		v.warnf(dp, "name and namespace are deprecated: use ref (when set, ref and selector are ignored, as in Gloo)")
		if d.Name == "" {
			v.errorf(dp+".name", "required value")
		}
		return
	}
	switch {
	case d.Ref != nil && d.Selector != nil:
		v.errorf(dp, "only one of ref and selector may be set")
	case d.Ref != nil:
		if d.Ref.Name == "" {
			v.errorf(dp+".ref.name", "required value")
		}
	case d.Selector != nil:
		sel := d.Selector
		if len(sel.Labels) > 0 && len(sel.Expressions) > 0 {
			v.errorf(dp+".selector", "only one of labels and expressions may be set")
		}
		for k, ns := range sel.Namespaces {
			if ns != "*" && (len(ns) > 63 || !dns1123Label.MatchString(ns)) {
				v.errorf(fmt.Sprintf("%s.selector.namespaces[%d]", dp, k), "invalid value %q: must be a namespace or \"*\" (every namespace)", ns)
			}
		}
		if _, err := labels.ValidatedSelectorFromSet(sel.Labels); err != nil {
			v.errorf(dp+".selector.labels", "invalid labels: %v", err)
		}
		v.expressions(dp+".selector", sel)
	default:
		v.errorf(dp, "required value: one of ref and selector")
	}
}
