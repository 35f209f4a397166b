package router

// ValidHost reports whether host is uri-host [":" port] (RFC 9110 §7.2):
// net/http checks only its characters, so "a.test:abc" or "a:b:c" would
// otherwise be routed by their first part. An IPv6 literal must be
// bracketed; the port is decimal, at most 65535, and may be empty (RFC 3986
// §3.2.3). "" (HTTP/1.0 without Host) is valid.
func ValidHost(host string) bool {
	rest := host
	if len(host) > 0 && host[0] == '[' {
		end := -1
		for i := 1; i < len(host); i++ {
			if host[i] == ']' {
				end = i
				break
			}
			if host[i] == '[' { // net.SplitHostPort refuses a nested bracket
				return false
			}
		}
		if end < 0 {
			return false
		}
		rest = host[end+1:]
		if rest == "" {
			return true
		}
		if rest[0] != ':' {
			return false
		}
		return validPort(rest[1:])
	}
	for i := 0; i < len(rest); i++ {
		switch rest[i] {
		case ':':
			return validPort(rest[i+1:])
		case '[', ']':
			return false
		}
	}
	return true
}

func validPort(p string) bool {
	if len(p) > 5 {
		return false
	}
	n := 0
	for i := 0; i < len(p); i++ {
		c := p[i]
		if c < '0' || c > '9' {
			return false
		}
		n = n*10 + int(c-'0')
	}
	return n <= 65535
}
