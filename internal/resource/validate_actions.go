package resource

import (
	"fmt"
	"net/http"
	"regexp"
	"strings"

	gateway "github.com/lambdagate/lambdagate/api/gateway/v1"
)

// RedirectStatus maps Gloo's redirect response code names to statuses
// ("" is MOVED_PERMANENTLY, the default).
var RedirectStatus = map[gateway.RedirectResponseCode]int{
	"":                        http.StatusMovedPermanently,
	gateway.MovedPermanently:  http.StatusMovedPermanently,
	gateway.Found:             http.StatusFound,
	gateway.SeeOther:          http.StatusSeeOther,
	gateway.TemporaryRedirect: http.StatusTemporaryRedirect,
	gateway.PermanentRedirect: http.StatusPermanentRedirect,
}

func (v *validator) directResponse(p string, d *gateway.DirectResponseAction) {
	if d.Status < 200 || d.Status > 599 {
		v.errorf(p+".status", "invalid value %d: must be an HTTP status from 200 to 599", d.Status)
	}
}

func (v *validator) redirect(p string, r *gateway.RedirectAction, matchers []gateway.Matcher) {
	if _, ok := RedirectStatus[r.ResponseCode]; !ok {
		v.errorf(p+".responseCode", "unsupported value %q: must be one of MOVED_PERMANENTLY (the default), FOUND, SEE_OTHER, TEMPORARY_REDIRECT, PERMANENT_REDIRECT", r.ResponseCode)
	}
	n := 0
	for _, set := range []bool{r.PathRedirect != "", r.PrefixRewrite != "", r.RegexRewrite != nil} {
		if set {
			n++
		}
	}
	if n > 1 {
		v.errorf(p, "only one of pathRedirect, prefixRewrite and regexRewrite may be set")
	}
	if r.PathRedirect != "" && !strings.HasPrefix(r.PathRedirect, "/") {
		v.errorf(p+".pathRedirect", "invalid value %q: must start with \"/\"", r.PathRedirect)
	}
	if r.PrefixRewrite != "" {
		v.prefixRewrite(p+".prefixRewrite", matchers)
	}
	if r.RegexRewrite != nil {
		v.regexRewrite(p+".regexRewrite", r.RegexRewrite)
	}
	if h := r.HostRedirect; h != "" {
		if msg := DomainProblem(h); msg != "" || strings.Contains(h, "*") {
			v.errorf(p+".hostRedirect", "invalid value %q: must be a host name, optionally with a port", h)
		}
	}
	if r.PortRedirect != nil && (*r.PortRedirect == 0 || *r.PortRedirect > 65535) {
		v.errorf(p+".portRedirect", "invalid value %d: must be a port from 1 to 65535", *r.PortRedirect)
	}
}

// prefixRewrite checks that a prefix rewrite has a prefix to replace:
// Envoy's needs prefix or exact matchers.
func (v *validator) prefixRewrite(p string, matchers []gateway.Matcher) {
	for j, m := range matchers {
		if m.Regex != "" {
			v.errorf(p, "a prefix rewrite needs prefix or exact matchers: matchers[%d] is a regex (use regexRewrite)", j)
		}
	}
}

func (v *validator) regexRewrite(p string, rr *gateway.RegexMatchAndSubstitute) {
	switch {
	case rr.Pattern == nil || rr.Pattern.Regex == "":
		v.errorf(p+".pattern.regex", "required value")
	default:
		if _, err := regexp.Compile(rr.Pattern.Regex); err != nil {
			v.errorf(p+".pattern.regex", "invalid RE2 regular expression %q: %s", rr.Pattern.Regex, reError(err))
		}
	}
}

func (v *validator) headerManipulation(p string, h *gateway.HeaderManipulation) {
	adds := func(field string, l []gateway.HeaderValueOption) {
		for i, o := range l {
			ip := fmt.Sprintf("%s.%s[%d].header", p, field, i)
			if o.Header == nil {
				v.errorf(ip, "required value")
				continue
			}
			v.headerName(ip+".key", o.Header.Key)
			if strings.ContainsAny(o.Header.Value, "\r\n\x00") {
				v.errorf(ip+".value", "invalid value %q: must not contain CR, LF or NUL", o.Header.Value)
			}
		}
	}
	removes := func(field string, l []string) {
		for i, n := range l {
			v.headerName(fmt.Sprintf("%s.%s[%d]", p, field, i), n)
		}
	}
	adds("requestHeadersToAdd", h.RequestHeadersToAdd)
	removes("requestHeadersToRemove", h.RequestHeadersToRemove)
	adds("responseHeadersToAdd", h.ResponseHeadersToAdd)
	removes("responseHeadersToRemove", h.ResponseHeadersToRemove)
}

// headerName checks a header a manipulation sets or removes. Host (and
// Envoy's pseudo-headers) are not headers here: the Host is the request's
// authority, which routing has already used.
func (v *validator) headerName(p, n string) {
	switch {
	case n == "":
		v.errorf(p, "required value")
	case strings.HasPrefix(n, ":") || strings.EqualFold(n, "host"):
		v.errorf(p, "invalid value %q: the host and pseudo-headers cannot be changed", n)
	case !headerNameRe.MatchString(n):
		v.errorf(p, "invalid value %q: must be an HTTP header name", n)
	}
}
