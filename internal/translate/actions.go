package translate

import (
	"net/http"
	"regexp"
	"strconv"
	"strings"

	gateway "github.com/lambdagate/lambdagate/api/gateway/v1"
	"github.com/lambdagate/lambdagate/internal/gateway/pipeline"
	"github.com/lambdagate/lambdagate/internal/resource"
	"github.com/lambdagate/lambdagate/internal/router"
)

// answerRoute compiles a route whose action the gateway carries out
// itself (redirectAction, directResponseAction): no upstream, no Lambda.
// Validation has checked the action's fields.
func answerRoute(vs *resource.VirtualService, i int, r *gateway.Route) (*router.Route, string, error) {
	p := &pipeline.Route{}
	switch {
	case r.DirectResponseAction != nil:
		d := r.DirectResponseAction
		p.Direct = &pipeline.Direct{Status: int(d.Status), Body: d.Body}
	case r.RedirectAction != nil:
		p.Redirect = compileRedirect(r.RedirectAction)
	}
	// options.timeout bounds a Lambda call; these routes make none.
	p.VirtualService, p.Name = vs.Metadata.Key(), routeName(r, i)
	rt := &router.Route{Name: p.Name, Target: withOptions(withHeaders(p, vs, r), vs, r)}
	if err := compileMatchers(rt, r.Matchers); err != nil {
		return nil, "", err
	}
	return rt, "", nil
}

func compileRedirect(a *gateway.RedirectAction) *pipeline.Redirect {
	rd := &pipeline.Redirect{
		Status:        resource.RedirectStatus[a.ResponseCode],
		Host:          a.HostRedirect,
		PrefixRewrite: a.PrefixRewrite,
		StripQuery:    a.StripQuery,
	}
	if a.HttpsRedirect {
		// The request's port belongs to the HTTP listener.
		rd.Scheme, rd.DropPort = "https", true
	}
	if a.PortRedirect != nil {
		rd.Port = strconv.FormatUint(uint64(*a.PortRedirect), 10)
	}
	if a.PathRedirect != "" {
		rd.Path, rd.PathQuery, rd.PathHasQuery = strings.Cut(a.PathRedirect, "?")
	}
	if rr := a.RegexRewrite; rr != nil && rr.Pattern != nil {
		rd.RegexRewrite = regexp.MustCompile(rr.Pattern.Regex) // validated
		rd.Substitution = pipeline.Substitution(rr.Substitution)
	}
	return rd
}

// withHeaders adds the request and response filters of the virtual
// host's and the route's headerManipulation, the virtual host's first so
// that the route's edits win. Neither set: no filter.
func withHeaders(p *pipeline.Route, vs *resource.VirtualService, r *gateway.Route) *pipeline.Route {
	var edits []*gateway.HeaderManipulation
	if o := vs.Spec.VirtualHost.Options; o != nil && o.HeaderManipulation != nil {
		edits = append(edits, o.HeaderManipulation)
	}
	if r.Options != nil && r.Options.HeaderManipulation != nil {
		edits = append(edits, r.Options.HeaderManipulation)
	}
	for _, h := range edits {
		if e := headerEdit(h.RequestHeadersToRemove, h.RequestHeadersToAdd); e != nil {
			p.Request = append(p.Request, (*pipeline.RequestHeaders)(e))
		}
		if e := headerEdit(h.ResponseHeadersToRemove, h.ResponseHeadersToAdd); e != nil {
			p.Response = append(p.Response, (*pipeline.ResponseHeaders)(e))
		}
	}
	return p
}

func headerEdit(remove []string, add []gateway.HeaderValueOption) *pipeline.Headers {
	if len(remove) == 0 && len(add) == 0 {
		return nil
	}
	e := &pipeline.Headers{}
	for _, n := range remove {
		e.Remove = append(e.Remove, http.CanonicalHeaderKey(n))
	}
	for _, a := range add {
		e.Add = append(e.Add, pipeline.HeaderAdd{
			Key:    http.CanonicalHeaderKey(a.Header.Key),
			Value:  a.Header.Value,
			Append: a.Append == nil || *a.Append,
		})
	}
	return e
}
