package pipeline

import (
	"net"
	"regexp"
	"strconv"
	"strings"

	"github.com/lambdagate/lambdagate/internal/router"
)

// Direct is a route's directResponseAction: a fixed answer, no Lambda
// call.
type Direct struct {
	Status int
	Body   string
}

// Redirect is a route's redirectAction, compiled: Location builds the
// target from the request's URL with the configured parts replaced, as
// Envoy's redirect does.
type Redirect struct {
	Status int
	// Scheme replaces the request's scheme ("" keeps it).
	Scheme string
	// Host replaces the request's host name; Port its port ("" keeps
	// the request's; DropPort removes it).
	Host     string
	Port     string
	DropPort bool
	// Exactly one of the path rewrites, or none.
	Path          string // pathRedirect, without its query
	PathQuery     string // the query pathRedirect carries ("" none)
	PathHasQuery  bool
	PrefixRewrite string
	RegexRewrite  *regexp.Regexp
	Substitution  string // in Go's Expand syntax
	StripQuery    bool
}

// defaultPort is the port a scheme implies, dropped from Locations.
func defaultPort(scheme string) string {
	if scheme == "https" {
		return "443"
	}
	return "80"
}

// Location is the redirect target for a request with the given scheme,
// Host header, normalized path and raw query, matched by m.
func (rd *Redirect) Location(scheme, host, path, rawQuery string, m *router.Matcher) string {
	if rd.Scheme != "" {
		scheme = rd.Scheme
	}
	name, port := splitHostPort(host)
	if rd.Host != "" {
		hn, hp := splitHostPort(rd.Host)
		name = hn
		if hp != "" || rd.DropPort {
			port = hp
		}
	} else if rd.DropPort {
		port = ""
	}
	if rd.Port != "" {
		port = rd.Port
	}
	if port == defaultPort(scheme) {
		port = ""
	}
	switch {
	case rd.Path != "":
		path = rd.Path
		if rd.PathHasQuery {
			rawQuery = rd.PathQuery
		}
	case rd.PrefixRewrite != "" && m != nil:
		path = replacePrefix(path, rd.PrefixRewrite, m)
	case rd.RegexRewrite != nil:
		path = rd.RegexRewrite.ReplaceAllString(path, rd.Substitution)
	}
	if rd.StripQuery {
		rawQuery = ""
	}
	var b strings.Builder
	b.WriteString(scheme)
	b.WriteString("://")
	if strings.Contains(name, ":") {
		b.WriteString("[" + name + "]")
	} else {
		b.WriteString(name)
	}
	if port != "" {
		b.WriteString(":" + port)
	}
	b.WriteString(path)
	if rawQuery != "" {
		b.WriteString("?" + rawQuery)
	}
	return b.String()
}

// splitHostPort splits a Host header; a host without a port has port "".
func splitHostPort(h string) (string, string) {
	if name, port, err := net.SplitHostPort(h); err == nil {
		if _, err := strconv.Atoi(port); err == nil {
			return name, port
		}
	}
	return strings.TrimSuffix(strings.TrimPrefix(h, "["), "]"), ""
}

// Substitution turns an Envoy regex substitution (\1 inserts group 1)
// into Go's Expand syntax (${1}), escaping Go's own "$".
func Substitution(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == '$':
			b.WriteString("$$")
		case c == '\\' && i+1 < len(s) && s[i+1] >= '0' && s[i+1] <= '9':
			b.WriteString("${" + string(s[i+1]) + "}")
			i++
		default:
			b.WriteByte(c)
		}
	}
	return b.String()
}
