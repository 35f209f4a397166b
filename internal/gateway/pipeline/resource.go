package pipeline

import (
	"strings"

	"github.com/lambdagate/lambdagate/internal/router"
)

// ResourceOf gives API Gateway's resource template and path parameters for
// the matcher that matched: exact paths are their own resource, prefix
// routes are the greedy "{proxy+}" resource under the prefix, and a regex's
// named groups become path parameters.
//
// API Gateway's greedy variable holds whole segments: "/api/{proxy+}"
// serves only paths below "/api/". The prefix itself ("/api", "/api/") is
// then the resource "/api", without parameters. A prefix match that ends
// inside a segment ("/apiary/x" for prefix "/api") is what a root greedy
// resource would serve in API Gateway: "/{proxy+}" with the whole path,
// so the function never sees part of a segment cut off.
func ResourceOf(m *router.Matcher, path string) (string, map[string]string) {
	switch m.Kind {
	case router.PathExact:
		return m.Path, nil
	case router.PathPrefix:
		base := strings.TrimSuffix(m.Path, "/")
		if len(path) >= len(base) && samePrefix(path[:len(base)], base, m.CaseSensitive) {
			switch rest := path[len(base):]; {
			case rest == "" || rest == "/":
				if base == "" {
					return "/", nil
				}
				return base, nil
			case rest[0] == '/':
				return base + "/{proxy+}", map[string]string{"proxy": rest[1:]}
			}
		}
		return "/{proxy+}", map[string]string{"proxy": strings.TrimPrefix(path, "/")}
	case router.PathRegex:
		names := m.Regex.SubexpNames()
		sub := m.Regex.FindStringSubmatch(path)
		var params map[string]string
		for i, n := range names {
			if n != "" && i < len(sub) {
				if params == nil {
					params = map[string]string{}
				}
				params[n] = sub[i]
			}
		}
		return "", params
	}
	return "", nil
}

// samePrefix compares a path's leading bytes with a route prefix as the
// route does. Case folding that changes the byte length (the Kelvin sign
// and "K") gives false: the split point is then unknown.
func samePrefix(lead, prefix string, caseSensitive bool) bool {
	if caseSensitive {
		return lead == prefix
	}
	return strings.EqualFold(lead, prefix)
}
