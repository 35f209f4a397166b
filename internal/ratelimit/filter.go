package ratelimit

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"net"
	"net/http"
	"strconv"
	"time"

	"github.com/lambdagate/lambdagate/internal/gateway/pipeline"
	"github.com/lambdagate/lambdagate/internal/httperr"
	"github.com/lambdagate/lambdagate/internal/transform"
)

// ErrLimited answers a request over its limit: 429 with API Gateway's
// throttling message.
var ErrLimited = httperr.New(http.StatusTooManyRequests, "TooManyRequests", "Too Many Requests")

// ErrUnavailable answers a request whose limit cannot be counted (Redis
// unreachable and denyOnFail set): 500, Envoy's answer under
// failure_mode_deny.
var ErrUnavailable = httperr.New(http.StatusInternalServerError, "RateLimitUnavailable", "the rate limit store cannot be reached")

// The x-ratelimit headers of Envoy's draft-03 (RFC draft
// ietf-httpapi-ratelimit-headers-03), in Go's canonical form.
const (
	hdrLimit     = "X-Ratelimit-Limit"
	hdrRemaining = "X-Ratelimit-Remaining"
	hdrReset     = "X-Ratelimit-Reset"
)

func setHeaders(h http.Header, limit []string, remaining uint64, reset time.Duration) {
	h[hdrLimit] = limit
	h[hdrRemaining] = []string{strconv.FormatUint(remaining, 10)}
	// Whole seconds, rounded up: a client waiting that long finds the
	// fill or the new window.
	h[hdrReset] = []string{strconv.FormatInt(int64((reset+time.Second-1)/time.Second), 10)}
}

// Local is a local token bucket limit (options.ratelimit.localRatelimit,
// Settings httpLocalRatelimit.defaultLimit): one bucket per gateway
// process, shared by every request of the route (or of the virtual
// host's routes, or of the listener's) that uses it.
type Local struct {
	bucket *Bucket
	// limit is x-ratelimit-limit (the bucket's size), nil when the
	// headers are off.
	limit []string
}

var _ pipeline.RequestFilter = (*Local)(nil)

// NewLocal returns the filter of bucket; headers adds the x-ratelimit
// headers to the answers.
func NewLocal(bucket *Bucket, headers bool) *Local {
	l := &Local{bucket: bucket}
	if headers {
		l.limit = []string{strconv.FormatUint(uint64(bucket.Max()), 10)}
	}
	return l
}

// String describes the filter (golden tests).
func (l *Local) String() string {
	return fmt.Sprintf("local rate limit: %s headers=%v", l.bucket, l.limit != nil)
}

// FilterRequest takes a token, or answers 429.
func (l *Local) FilterRequest(w http.ResponseWriter, _ *http.Request, x *pipeline.Exchange) error {
	ok, remaining, reset := l.bucket.Take(now(x))
	if l.limit != nil {
		setHeaders(w.Header(), l.limit, uint64(remaining), reset)
	}
	if !ok {
		return ErrLimited
	}
	return nil
}

// Rule is one of ratelimitBasic's limits and where it is counted.
type Rule struct {
	Window
	// Counter counts the requests (a LocalCounter or a Redis).
	Counter Counter
	// Prefix starts the counter keys: the limit's identity.
	Prefix string
	limit  []string // x-ratelimit-limit: "N, N;w=seconds"
}

// Basic is ratelimitBasic: a fixed-window limit per caller, the
// authorized limit for a caller authentication identified (keyed by its
// identity), the anonymous one for the others (keyed by address or by
// a header).
type Basic struct {
	Authorized, Anonymous *Rule
	// KeyHeader keys anonymous callers on this header (canonical) when the
	// request has it; "" keys them on their address.
	KeyHeader string
	// GenericKey, when set, is the one key of every anonymous caller (the
	// limit is theirs together); it wins over KeyHeader.
	GenericKey string
	// DenyOnFail answers 500 when the count fails; false lets the request
	// through.
	DenyOnFail bool
	// Headers adds the x-ratelimit headers.
	Headers bool
}

var _ pipeline.RequestFilter = (*Basic)(nil)

// NewRule returns a rule counting in c.
func NewRule(w Window, c Counter, prefix string) *Rule {
	n := strconv.FormatUint(uint64(w.Limit), 10)
	return &Rule{Window: w, Counter: c, Prefix: prefix,
		limit: []string{n + ", " + n + ";w=" + strconv.FormatInt(int64(w.Unit/time.Second), 10)}}
}

// String describes the filter (golden tests).
func (b *Basic) String() string {
	rule := func(r *Rule) string {
		if r == nil {
			return "none"
		}
		c := "local"
		if rd, ok := r.Counter.(*Redis); ok {
			c = "redis " + rd.addr
		}
		return fmt.Sprintf("%d/%s in %s as %s", r.Limit, r.Unit, c, r.Prefix)
	}
	key := "remoteAddress"
	switch {
	case b.GenericKey != "":
		key = "genericKey " + b.GenericKey
	case b.KeyHeader != "":
		key = "header " + b.KeyHeader
	}
	return fmt.Sprintf("ratelimitBasic: authorized=%s anonymous=%s anonymousKey=%s denyOnFail=%v headers=%v",
		rule(b.Authorized), rule(b.Anonymous), key, b.DenyOnFail, b.Headers)
}

// FilterRequest counts the request against its caller's limit.
func (b *Basic) FilterRequest(w http.ResponseWriter, r *http.Request, x *pipeline.Exchange) error {
	rule, key := b.Anonymous, ""
	if id := Identity(x.Auth); id != "" {
		rule, key = b.Authorized, "id:"+id
	} else if b.GenericKey != "" {
		key = "g:" + b.GenericKey
	} else if v := r.Header[b.KeyHeader]; b.KeyHeader != "" && len(v) > 0 {
		key = "h:" + v[0]
	} else {
		key = "ip:" + clientIP(r.RemoteAddr)
	}
	if rule == nil {
		return nil
	}
	window, reset := rule.index(now(x))
	n, err := rule.Counter.Hit(r.Context(), rule.Prefix+":"+boundKey(key), window, reset)
	if err != nil {
		if b.DenyOnFail {
			return ErrUnavailable
		}
		return nil
	}
	if b.Headers {
		left := uint64(0)
		if n < uint64(rule.Limit) {
			left = uint64(rule.Limit) - n
		}
		setHeaders(w.Header(), rule.limit, left, reset)
	}
	if n > uint64(rule.Limit) {
		return ErrLimited
	}
	return nil
}

// now is the request's arrival time, or the clock's when the gateway did
// not set it.
func now(x *pipeline.Exchange) time.Time {
	if x.Arrived.IsZero() {
		return time.Now()
	}
	return x.Arrived
}

// boundKey keeps keys short whatever a client sends: a long one (a header
// value) is replaced by its SHA-256.
func boundKey(k string) string {
	if len(k) <= 64 {
		return k
	}
	s := sha256.Sum256([]byte(k))
	return "sha256:" + hex.EncodeToString(s[:])
}

func clientIP(remote string) string {
	if h, _, err := net.SplitHostPort(remote); err == nil {
		return h
	}
	return remote
}

// Identity is the caller authentication established, as a limit key: the
// API key's name, the JWT's issuer and subject, the Lambda authorizer's
// principal or the client certificate's subject, the first set in that
// order; "" when none ran or none identifies the caller.
func Identity(a *transform.Authorizer) string {
	switch {
	case a == nil:
		return ""
	case a.APIKey != "":
		return "apikey:" + a.APIKey
	case a.Claims != nil:
		sub, _ := a.Claims["sub"].(string)
		iss, _ := a.Claims["iss"].(string)
		if sub != "" {
			return "jwt:" + iss + " " + sub
		}
	}
	switch {
	case a.PrincipalID != "":
		return "principal:" + a.PrincipalID
	case a.ClientCert != nil && a.ClientCert.SubjectDN != "":
		return "cert:" + a.ClientCert.SubjectDN
	}
	return ""
}
