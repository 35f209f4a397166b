// Package extauth runs the authentication an AuthConfig asks for
// (enterprise.gloo.solo.io/v1, Gloo Enterprise's extauth.proto) in the
// route pipeline: API keys stored in Secrets (Gloo's apiKeyAuth) and API
// Gateway Lambda authorizers (lambdagate's lambdaAuthorizer). Each config
// is a pipeline.RequestFilter; an AuthConfig's configs run in order and
// every one must accept the request. Filters are built once per snapshot
// by translation and shared by every request of the routes using them.
//
// A refused request ends with a *Denial, an *httperr.Error (codes
// Unauthorized, Forbidden, AuthorizerFailure) that also carries a short
// reason for the log line and the lambdagate_auth_denied_total metric.
// Neither the reason nor the message ever holds a key or a token.
package extauth

import (
	"net/http"

	"github.com/lambdagate/lambdagate/internal/httperr"
)

// Reasons a request is refused: the reason label of
// lambdagate_auth_denied_total, so a small fixed set.
const (
	ReasonMissingAPIKey    = "missing_api_key"
	ReasonInvalidAPIKey    = "invalid_api_key"
	ReasonAPIKeyMetadata   = "api_key_metadata_missing"
	ReasonMissingIdentity  = "missing_identity_source"
	ReasonUnauthorized     = "authorizer_unauthorized"
	ReasonDenied           = "authorizer_denied"
	ReasonAuthorizerFailed = "authorizer_failure"
)

// Denial is a request refused by authentication. Its message (what the
// client reads) is generic; Reason says why, for the log and the metric.
type Denial struct {
	Reason string
	// Detail adds to the reason in the log ("" when none); never a
	// secret.
	Detail string
	err    *httperr.Error
}

// Error is what the log line carries: the client's message and the reason.
func (d *Denial) Error() string {
	if d.Detail != "" {
		return d.err.Message + " (" + d.Reason + ": " + d.Detail + ")"
	}
	return d.err.Message + " (" + d.Reason + ")"
}

// Unwrap lets httperr map the denial to its status and code.
func (d *Denial) Unwrap() error { return d.err }

// AuthDeniedReason names the reason for lambdagate_auth_denied_total.
func (d *Denial) AuthDeniedReason() string { return d.Reason }

// API Gateway's answers: 401 {"message":"Unauthorized"}, 403 for an
// explicit or implicit deny, 500 when the authorizer fails (gateway
// responses UNAUTHORIZED, ACCESS_DENIED, AUTHORIZER_FAILURE and
// AUTHORIZER_CONFIGURATION_ERROR).
var (
	errUnauthorized = httperr.New(http.StatusUnauthorized, "Unauthorized", "Unauthorized")
	errForbidden    = httperr.New(http.StatusForbidden, "Forbidden", "User is not authorized to access this resource")
	errAuthorizer   = httperr.New(http.StatusInternalServerError, "AuthorizerFailure", "the authorizer failed")
)

// Denials are built once: refusing a request allocates nothing.
var (
	denyMissingKey      = &Denial{Reason: ReasonMissingAPIKey, err: errUnauthorized}
	denyInvalidKey      = &Denial{Reason: ReasonInvalidAPIKey, err: errUnauthorized}
	denyKeyMetadata     = &Denial{Reason: ReasonAPIKeyMetadata, err: errUnauthorized}
	denyMissingIdentity = &Denial{Reason: ReasonMissingIdentity, err: errUnauthorized}
	denyUnauthorized    = &Denial{Reason: ReasonUnauthorized, err: errUnauthorized}
	denyForbidden       = &Denial{Reason: ReasonDenied, err: errForbidden}
	denyAuthorizer      = &Denial{Reason: ReasonAuthorizerFailed, Detail: "no Lambda invoker", err: errAuthorizer}
	denyBadAnswer       = &Denial{Reason: ReasonAuthorizerFailed, Detail: "not a valid authorizer response", err: errAuthorizer}
)
