// Package awscreds turns an upstream's credential source (its secret, web
// identity with role chaining, the SDK default chain) into an
// aws.CredentialsProvider.
package awscreds

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/credentials"
	core "github.com/lambdagate/lambdagate/api/core/v1"
	gloo "github.com/lambdagate/lambdagate/api/gloo/v1"
	"sigs.k8s.io/yaml"
)

// NoSourceMessage is Gloo's rejection for an upstream without credentials.
const NoSourceMessage = "no aws secret provided. consider setting enableCredentialsDiscovey to true or enabling service account credentials if running in EKS"

// FromSecret reads AWS credentials from a secret in either form Gloo reads:
// the plain Kubernetes keys (aws_access_key_id, aws_secret_access_key,
// aws_session_token) or glooctl's annotated form (data.aws holding YAML
// with accessKey, secretKey, sessionToken).
func FromSecret(s *core.Secret) (aws.Credentials, error) {
	ref := s.Metadata.Namespace + "/" + s.Metadata.Name
	var id, key, token string
	switch {
	case len(s.Data[core.AWSAccessKeyID]) > 0 || len(s.Data[core.AWSSecretAccessKey]) > 0:
		id, key, token = string(s.Data[core.AWSAccessKeyID]), string(s.Data[core.AWSSecretAccessKey]), string(s.Data[core.AWSSessionToken])
	case len(s.Data["aws"]) > 0:
		var v struct {
			AccessKey     string `json:"accessKey"`
			SecretKey     string `json:"secretKey"`
			SessionToken  string `json:"sessionToken"`
			AccessKeyS    string `json:"access_key"`
			SecretKeyS    string `json:"secret_key"`
			SessionTokenS string `json:"session_token"`
		}
		if err := yaml.Unmarshal(s.Data["aws"], &v); err != nil {
			return aws.Credentials{}, fmt.Errorf("secret %s: data.aws is not the YAML glooctl writes (accessKey, secretKey, sessionToken)", ref)
		}
		id, key, token = first(v.AccessKey, v.AccessKeyS), first(v.SecretKey, v.SecretKeyS), first(v.SessionToken, v.SessionTokenS)
	default:
		// Gloo's wording, with the keys that would make it one.
		return aws.Credentials{}, fmt.Errorf("secret (%s.%s) is not an AWS secret: it needs the keys %s and %s", s.Metadata.Name, s.Metadata.Namespace, core.AWSAccessKeyID, core.AWSSecretAccessKey)
	}
	switch {
	case id == "" || !utf8.ValidString(id):
		return aws.Credentials{}, fmt.Errorf("secret %s: access_key is not a valid string", ref)
	case key == "" || !utf8.ValidString(key):
		return aws.Credentials{}, fmt.Errorf("secret %s: secret_key is not a valid string", ref)
	case !utf8.ValidString(token):
		return aws.Credentials{}, fmt.Errorf("secret %s: session_token is not a valid string", ref)
	}
	id, key, token = strings.TrimSpace(id), strings.TrimSpace(key), strings.TrimSpace(token)
	names := [3]string{core.AWSAccessKeyID, core.AWSSecretAccessKey, core.AWSSessionToken}
	if len(s.Data[core.AWSAccessKeyID]) == 0 && len(s.Data[core.AWSSecretAccessKey]) == 0 {
		names = [3]string{"data.aws accessKey", "data.aws secretKey", "data.aws sessionToken"}
	}
	for i, v := range [3]string{id, key, token} {
		if at := core.BadCredentialByte(v); at >= 0 {
			return aws.Credentials{}, fmt.Errorf("secret %s: %s %s", ref, names[i], core.BadCredentialMessage(at))
		}
	}
	return aws.Credentials{AccessKeyID: id, SecretAccessKey: key, SessionToken: token, Source: "secret " + ref}, nil
}

func first(a, b string) string {
	if a != "" {
		return a
	}
	return b
}

// Resolver picks the credential source of each upstream. It is shared by
// every snapshot so that cached providers (and their refresh state) survive
// configuration changes.
type Resolver struct {
	opts         Options
	mu           sync.Mutex
	defaultChain aws.CredentialsProvider
	providers    map[string]*Provider // STS providers by role and settings
	// OnRefresh, when set before first use, is called after each retrieval
	// from the default chain and each STS fetch with its error (nil on
	// success), for metrics.
	OnRefresh func(error)
}

// Options configures a Resolver.
type Options struct {
	// ExpiryWindow is how long before they expire STS credentials are
	// fetched again. Credentials living less than twice the window are
	// fetched again halfway through their lifetime instead, so short-lived
	// credentials (seconds, in tests) still refresh ahead of expiry.
	// Default 5m (envoy-gloo's grace period).
	ExpiryWindow time.Duration
	// Getenv reads AWS_WEB_IDENTITY_TOKEN_FILE, AWS_ROLE_ARN,
	// AWS_ENDPOINT_URL_STS and AWS_ENDPOINT_URL. Default os.Getenv.
	Getenv func(string) string
	// HTTPClient makes STS calls. Default: the SDK's client with the
	// serviceAccountCredentials timeout.
	HTTPClient aws.HTTPClient
	// STSRetryer makes the retryer of each STS client. Default: the SDK's
	// standard retryer (3 attempts, backoff with jitter up to seconds).
	STSRetryer func() aws.Retryer
	// Logger receives credential problems and refreshes; it never gets a
	// secret or session token. Default slog.Default().
	Logger *slog.Logger
	// OnChange is called when a provider's Problem changes, so that
	// statuses can be rebuilt. Default: none.
	OnChange func()
}

// New returns a Resolver.
func New(o Options) *Resolver {
	if o.ExpiryWindow <= 0 {
		o.ExpiryWindow = DefaultExpiryWindow
	}
	if o.Getenv == nil {
		o.Getenv = os.Getenv
	}
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	return &Resolver{opts: o, providers: map[string]*Provider{}}
}

// NewResolver returns a Resolver with default Options.
func NewResolver() *Resolver { return New(Options{}) }

// ForUpstream returns the provider for an upstream, in Gloo's precedence:
// the upstream's secret, else Settings serviceAccountCredentials (web
// identity, with the upstream's roleArn), else the SDK default chain when
// Settings enables credential discovery, else an error with Gloo's
// message. A returned provider may implement Problem() string, its
// runtime failure for the upstream's status.
func (r *Resolver) ForUpstream(up *gloo.AWSUpstreamSpec, namespace string, secrets map[string]*core.Secret, opts *gloo.AWSOptions) (aws.CredentialsProvider, error) {
	if ref := up.SecretRef; ref != nil {
		ns := ref.Namespace
		if ns == "" {
			ns = namespace
		}
		s, ok := secrets[ns+"/"+ref.Name]
		if !ok {
			return nil, fmt.Errorf("spec.aws.secretRef: secret %s/%s not found", ns, ref.Name)
		}
		c, err := FromSecret(s)
		if err != nil {
			return nil, fmt.Errorf("spec.aws.secretRef: %w", err)
		}
		return credentials.StaticCredentialsProvider{Value: c}, nil
	}
	switch {
	case opts != nil && opts.ServiceAccountCredentials != nil:
		return r.serviceAccount(up, opts)
	case opts.CredentialsDiscovery():
		return r.defaultProvider(), nil
	}
	return nil, errors.New(NoSourceMessage)
}

// defaultProvider is the SDK default chain (environment, shared files, SSO,
// container and instance metadata), loaded lazily and cached.
func (r *Resolver) defaultProvider() aws.CredentialsProvider {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.defaultChain == nil {
		r.defaultChain = aws.NewCredentialsCache(lazyDefault{onRefresh: r.OnRefresh})
	}
	return r.defaultChain
}

type lazyDefault struct{ onRefresh func(error) }

func (l lazyDefault) Retrieve(ctx context.Context) (aws.Credentials, error) {
	c, err := l.retrieve(ctx)
	if l.onRefresh != nil {
		l.onRefresh(err)
	}
	return c, err
}

func (lazyDefault) retrieve(ctx context.Context) (aws.Credentials, error) {
	cfg, err := config.LoadDefaultConfig(ctx)
	if err != nil {
		return aws.Credentials{}, fmt.Errorf("loading the AWS default credential chain: %w", err)
	}
	if cfg.Credentials == nil {
		return aws.Credentials{}, errors.New("the AWS default credential chain found no credentials")
	}
	return cfg.Credentials.Retrieve(ctx)
}
