package awscreds

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"regexp"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/aws-sdk-go-v2/credentials/stscreds"
	"github.com/aws/aws-sdk-go-v2/service/sts"
	"github.com/aws/smithy-go"
	gloo "github.com/lambdagate/lambdagate/api/gloo/v1"
)

// Defaults of Settings serviceAccountCredentials, as in envoy-gloo.
const (
	DefaultSTSRegion  = "us-east-1"
	DefaultSTSTimeout = 5 * time.Second
	// DefaultExpiryWindow is envoy-gloo's REFRESH_GRACE_PERIOD.
	DefaultExpiryWindow = 5 * time.Minute
)

// minValidity is the least lifetime credentials must have left to be
// handed out: a request signed with them must still reach Lambda in time.
const minValidity = time.Second

// failBackoff is how long a failed fetch is answered from memory when no
// valid credentials are left, so a burst of requests does not become a
// burst of STS calls.
const failBackoff = time.Second

// Provider is a cached, self-refreshing credentials provider for one role
// (web identity or chained). One Provider is shared by every upstream and
// snapshot using that role.
type Provider struct {
	cache      *aws.CredentialsCache
	src        *refresher
	refreshing atomic.Bool
}

// backgroundRefreshTimeout bounds a refresh that no request waits for
// (STS calls with the SDK's retries and their backoff).
const backgroundRefreshTimeout = time.Minute

// Retrieve returns valid credentials, fetching new ones ahead of expiry.
// While the last credentials are still valid, a due refresh runs in the
// background and the caller gets them at once: requests never wait for
// STS (its retries back off for seconds) while they could be signed.
// Without valid credentials, concurrent callers wait for one fetch.
func (p *Provider) Retrieve(ctx context.Context) (aws.Credentials, error) {
	if c, due, ok := p.src.current(time.Now()); ok {
		if due && p.refreshing.CompareAndSwap(false, true) {
			go func() {
				defer p.refreshing.Store(false)
				ctx, cancel := context.WithTimeout(context.Background(), backgroundRefreshTimeout)
				defer cancel()
				_, _ = p.cache.Retrieve(ctx) // the outcome is recorded by the refresher
			}()
		}
		return c, nil
	}
	return p.cache.Retrieve(ctx)
}

// Problem describes the provider's failure, "" while it works. It names
// the role and the reason, never a secret.
func (p *Provider) Problem() string {
	p.src.mu.Lock()
	defer p.src.mu.Unlock()
	return p.src.problem
}

var _ aws.CredentialsProvider = (*Provider)(nil)

// refresher wraps an stscreds provider for aws.CredentialsCache: it sets
// the refresh time of fetched credentials itself (so the window can be
// proportional to their lifetime), keeps serving the last credentials
// while they are valid when a refresh fails, and tracks the problem.
type refresher struct {
	what         string // e.g. `role "arn:..." (web identity)`, for logs and status
	inner        aws.CredentialsProvider
	window       time.Duration
	refreshDelay time.Duration // 0: none
	log          *slog.Logger
	onChange     func()
	onFetch      func(error) // metrics; nil for none

	mu       sync.Mutex
	last     aws.Credentials // last fetched, with their real expiry
	lastErr  error
	retryAt  time.Time
	problem  string
	failures int

	// serving is what requests read without a lock: the last credentials
	// and when the cache fetches again.
	serving atomic.Pointer[serving]
}

type serving struct {
	creds aws.Credentials
	next  time.Time
}

func (f *refresher) Retrieve(ctx context.Context) (aws.Credentials, error) {
	now := time.Now()
	f.mu.Lock()
	if f.lastErr != nil && now.Before(f.retryAt) && !f.validLocked(now) {
		err := f.lastErr
		f.mu.Unlock()
		return aws.Credentials{}, err
	}
	f.mu.Unlock()

	c, err := f.inner.Retrieve(ctx)
	if f.onFetch != nil {
		f.onFetch(err)
	}
	if err != nil {
		f.mu.Lock()
		f.lastErr, f.retryAt = err, time.Now().Add(failBackoff)
		f.failures++
		f.mu.Unlock()
		return aws.Credentials{}, err
	}
	now = time.Now()
	f.mu.Lock()
	f.last, f.lastErr = c, nil
	recovered := f.failures > 0
	f.failures = 0
	f.mu.Unlock()
	if recovered {
		f.log.Info("AWS credentials fetched again after failures", "credentials", f.what, "expires", c.Expires.UTC().Format(time.RFC3339))
	} else {
		f.log.Debug("AWS credentials fetched", "credentials", f.what, "expires", c.Expires.UTC().Format(time.RFC3339))
	}
	f.setProblem("")
	if c.CanExpire {
		at := f.refreshAt(c.Expires, now)
		f.serving.Store(&serving{creds: c, next: at})
		c.Expires = at
	}
	return c, nil
}

// current returns the last credentials while they are valid, and whether
// a refresh is due.
func (f *refresher) current(now time.Time) (c aws.Credentials, due, ok bool) {
	s := f.serving.Load()
	if s == nil || !now.Before(s.creds.Expires.Add(-minValidity)) {
		return aws.Credentials{}, false, false
	}
	return s.creds, !now.Before(s.next), true
}

// refreshAt is when credentials expiring at exp are fetched again:
// window before expiry, or halfway through their lifetime when they live
// less than twice the window, and no later than refreshDelay from now.
func (f *refresher) refreshAt(exp, now time.Time) time.Time {
	life := exp.Sub(now)
	at := exp.Add(-min(f.window, life/2))
	if f.refreshDelay > 0 && now.Add(f.refreshDelay).Before(at) {
		at = now.Add(f.refreshDelay)
	}
	return at
}

func (f *refresher) validLocked(now time.Time) bool {
	return f.last.HasKeys() && now.Before(f.last.Expires.Add(-minValidity))
}

// HandleFailToRefresh is called by aws.CredentialsCache when a fetch
// fails: credentials still valid keep serving, and the fetch is retried
// after a quarter of their remaining lifetime (at least 100ms, at most
// 30s).
func (f *refresher) HandleFailToRefresh(_ context.Context, _ aws.Credentials, err error) (aws.Credentials, error) {
	now := time.Now()
	why := Reason(err)
	f.mu.Lock()
	if f.validLocked(now) {
		c := f.last
		left := c.Expires.Sub(now)
		retry := now.Add(min(max(left/4, 100*time.Millisecond), 30*time.Second))
		if end := c.Expires.Add(-minValidity); retry.After(end) {
			retry = end
		}
		c.Expires = retry
		f.serving.Store(&serving{creds: f.last, next: retry})
		exp := f.last.Expires
		f.mu.Unlock()
		f.setProblem(fmt.Sprintf("refreshing AWS credentials for %s failed: %s; serving the cached credentials until they expire at %s", f.what, why, exp.UTC().Format(time.RFC3339)))
		return c, nil
	}
	f.mu.Unlock()
	f.setProblem(fmt.Sprintf("no valid AWS credentials for %s: %s", f.what, why))
	return aws.Credentials{}, err
}

var _ aws.HandleFailRefreshCredentialsCacheStrategy = (*refresher)(nil)

// setProblem logs and reports a change of problem.
func (f *refresher) setProblem(p string) {
	f.mu.Lock()
	changed := f.problem != p
	f.problem = p
	f.mu.Unlock()
	if !changed {
		return
	}
	if p != "" {
		f.log.Warn("AWS credentials problem", "credentials", f.what, "problem", p)
	} else {
		f.log.Info("AWS credentials problem resolved", "credentials", f.what)
	}
	if f.onChange != nil {
		f.onChange()
	}
}

var requestIDRe = regexp.MustCompile(`(?i),?\s*RequestID: [0-9a-z-]*,?`)

// Reason shortens an SDK error to what a user needs (the AWS error code and
// message), without request IDs that would make every failure look new.
func Reason(err error) string {
	var ae smithy.APIError
	if errors.As(err, &ae) {
		return ae.ErrorCode() + ": " + ae.ErrorMessage()
	}
	return strings.TrimSpace(requestIDRe.ReplaceAllString(err.Error(), " "))
}

// stsConfig is where and how STS is called, from Settings
// serviceAccountCredentials.
type stsConfig struct {
	endpoint string // "" for the SDK's regional endpoint
	region   string
	timeout  time.Duration
}

func (c stsConfig) String() string { return c.endpoint + "|" + c.region + "|" + c.timeout.String() }

// stsSettings reads serviceAccountCredentials. The endpoint is uri when it
// is a full URL ("http://127.0.0.1:9001", for a local STS), else
// AWS_ENDPOINT_URL_STS or AWS_ENDPOINT_URL (the SDK's variables), else
// https://<uri> (Gloo's form: a host such as sts.us-east-2.amazonaws.com),
// else the SDK's regional endpoint for region.
func (r *Resolver) stsSettings(sa *gloo.ServiceAccountCredentials) (stsConfig, error) {
	c := stsConfig{region: sa.Region, timeout: DefaultSTSTimeout}
	if c.region == "" {
		c.region = DefaultSTSRegion
	}
	if sa.Timeout != nil && sa.Timeout.Duration > 0 {
		c.timeout = sa.Timeout.Duration
	}
	uri := strings.TrimSpace(sa.URI)
	if strings.Contains(uri, "://") {
		u, err := url.Parse(uri)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			return c, fmt.Errorf("settings spec.gloo.awsOptions.serviceAccountCredentials.uri: invalid value %q: must be a host such as \"sts.us-east-2.amazonaws.com\" or an http(s) URL", sa.URI)
		}
		c.endpoint = uri
		return c, nil
	}
	for _, v := range []string{"AWS_ENDPOINT_URL_STS", "AWS_ENDPOINT_URL"} {
		if s := r.opts.Getenv(v); s != "" {
			c.endpoint = s
			return c, nil
		}
	}
	if uri != "" {
		c.endpoint = "https://" + uri
	}
	return c, nil
}

func (r *Resolver) stsClient(c stsConfig, creds aws.CredentialsProvider) *sts.Client {
	o := sts.Options{Region: c.region, Credentials: creds}
	if r.opts.HTTPClient != nil {
		o.HTTPClient = r.opts.HTTPClient
	} else {
		o.HTTPClient = awshttp.NewBuildableClient().WithTimeout(c.timeout)
	}
	if c.endpoint != "" {
		o.BaseEndpoint = aws.String(c.endpoint)
	}
	if r.opts.STSRetryer != nil {
		o.Retryer = r.opts.STSRetryer()
	}
	return sts.New(o)
}

// serviceAccount returns the provider of an upstream under Settings
// serviceAccountCredentials, following envoy-gloo: the web identity
// (AWS_WEB_IDENTITY_TOKEN_FILE) assumes AWS_ROLE_ARN; an upstream roleArn
// is assumed on top of it (chaining, depth 1), or directly with the web
// identity when disableRoleChaining is set.
func (r *Resolver) serviceAccount(up *gloo.AWSUpstreamSpec, o *gloo.AWSOptions) (aws.CredentialsProvider, error) {
	tokenFile, baseRole := r.opts.Getenv("AWS_WEB_IDENTITY_TOKEN_FILE"), r.opts.Getenv("AWS_ROLE_ARN")
	var missing []string
	if tokenFile == "" {
		missing = append(missing, "AWS_WEB_IDENTITY_TOKEN_FILE")
	}
	if baseRole == "" {
		missing = append(missing, "AWS_ROLE_ARN")
	}
	if len(missing) > 0 {
		return nil, fmt.Errorf("settings spec.gloo.awsOptions.serviceAccountCredentials: environment variable %s must be set in lambdagate's environment (EKS sets AWS_WEB_IDENTITY_TOKEN_FILE and AWS_ROLE_ARN for a service account annotated with eks.amazonaws.com/role-arn)", strings.Join(missing, " and "))
	}
	c, err := r.stsSettings(o.ServiceAccountCredentials)
	if err != nil {
		return nil, err
	}
	var delay time.Duration
	if o.CredentialRefreshDelay != nil {
		delay = o.CredentialRefreshDelay.Duration
	}
	role := up.RoleARN
	switch {
	case role == "" || role == baseRole:
		return r.webIdentity(baseRole, tokenFile, c, delay), nil
	case up.DisableRoleChaining:
		return r.webIdentity(role, tokenFile, c, delay), nil
	}
	return r.chained(r.webIdentity(baseRole, tokenFile, c, delay), role, c), nil
}

func (r *Resolver) webIdentity(role, tokenFile string, c stsConfig, delay time.Duration) *Provider {
	key := fmt.Sprintf("web|%s|%s|%s|%s", role, tokenFile, c, delay)
	return r.provider(key, func() *Provider {
		// The SDK reads the token file on every call, so a rotated token
		// is used from the next fetch on.
		inner := stscreds.NewWebIdentityRoleProvider(r.stsClient(c, nil), role, stscreds.IdentityTokenFile(tokenFile))
		return r.newProvider(fmt.Sprintf("role %q (web identity)", role), inner, delay)
	})
}

func (r *Resolver) chained(base *Provider, role string, c stsConfig) *Provider {
	key := fmt.Sprintf("chain|%p|%s", base, role)
	return r.provider(key, func() *Provider {
		inner := stscreds.NewAssumeRoleProvider(r.stsClient(c, base), role)
		return r.newProvider(fmt.Sprintf("role %q (assumed with the credentials of %s)", role, base.src.what), inner, 0)
	})
}

func (r *Resolver) newProvider(what string, inner aws.CredentialsProvider, delay time.Duration) *Provider {
	src := &refresher{what: what, inner: inner, window: r.opts.ExpiryWindow, refreshDelay: delay, log: r.opts.Logger, onChange: r.opts.OnChange, onFetch: r.OnRefresh}
	// ExpiryWindow stays 0: the refresher sets the refresh time itself.
	return &Provider{cache: aws.NewCredentialsCache(src), src: src}
}

func (r *Resolver) provider(key string, mk func() *Provider) *Provider {
	r.mu.Lock()
	defer r.mu.Unlock()
	if p, ok := r.providers[key]; ok {
		return p
	}
	p := mk()
	r.providers[key] = p
	return p
}
