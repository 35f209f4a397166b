package pipeline

import (
	"regexp"

	"github.com/lambdagate/lambdagate/internal/router"
)

// Rewrite is a route's prefixRewrite or regexRewrite (Envoy's route
// action rewrites), compiled once per snapshot. The gateway applies it to
// the normalized path the route matched, before the Lambda event is
// built; which path each event shows is in docs/compatibility.md.
type Rewrite struct {
	// Prefix replaces the matched prefix when Regex is nil ("" removes
	// it).
	Prefix string
	// Regex's every match is replaced by Substitution (Go's Expand
	// syntax, see Substitution).
	Regex        *regexp.Regexp
	Substitution string
}

// Path returns path rewritten, for a request matched by m. The result
// always starts with "/": a rewrite that removes the whole path gives "/".
func (rw *Rewrite) Path(path string, m *router.Matcher) string {
	if rw.Regex != nil {
		path = rw.Regex.ReplaceAllString(path, rw.Substitution)
	} else {
		path = replacePrefix(path, rw.Prefix, m)
	}
	if len(path) == 0 || path[0] != '/' {
		path = "/" + path
	}
	return path
}

// replacePrefix replaces the prefix m matched with prefix, as Envoy's
// prefix_rewrite does: for an exact matcher, the whole path. A
// case-insensitive match replaces the request's spelling of the prefix.
func replacePrefix(path, prefix string, m *router.Matcher) string {
	n := len(path)
	if m != nil && m.Kind == router.PathPrefix {
		n = min(len(m.Path), n)
	}
	return prefix + path[n:]
}
