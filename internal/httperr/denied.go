package httperr

import (
	"errors"
	"net/http"
)

// Denied is a request refused by authentication or authorization. Every
// denial has this one shape: the JSON error with code Unauthorized (401)
// or Forbidden (403), the message API Gateway sends for them, and a
// Reason from a small fixed set for the log line and the
// lambdagate_auth_denied_total metric. Neither the error nor the reason
// ever carries the credential itself.
type Denied struct {
	// Status is 401 or 403.
	Status int
	// Reason names why, from a fixed set (missing_token, invalid_token,
	// expired_token, ...): it is a metric label.
	Reason string
	// Challenge is the WWW-Authenticate header to send ("" for none).
	Challenge string
}

func (d *Denied) Error() string {
	return http.StatusText(d.Status) + ": " + d.Reason
}

// Unauthorized refuses a request without valid credentials (401).
func Unauthorized(reason, challenge string) *Denied {
	return &Denied{Status: http.StatusUnauthorized, Reason: reason, Challenge: challenge}
}

// Forbidden refuses a request whose caller may not call the route (403).
func Forbidden(reason, challenge string) *Denied {
	return &Denied{Status: http.StatusForbidden, Reason: reason, Challenge: challenge}
}

// mapDenied is Map for a *Denied: API Gateway's messages ("Unauthorized",
// "Forbidden") with the same words as the code.
func mapDenied(d *Denied) (int, string, string, http.Header) {
	code := "Forbidden"
	if d.Status == http.StatusUnauthorized {
		code = "Unauthorized"
	}
	var hdr http.Header
	if d.Challenge != "" {
		hdr = http.Header{"Www-Authenticate": {d.Challenge}}
	}
	return d.Status, code, code, hdr
}

// AuthDenial is an error of another package by which authentication
// refused a request (an authorizer's denial or failure, a missing client
// certificate): its reason labels the metric as a *Denied's does.
type AuthDenial interface{ AuthDeniedReason() string }

// DeniedReason returns the reason of a denial, or "" when err is not one.
func DeniedReason(err error) string {
	if d, ok := err.(*Denied); ok {
		return d.Reason
	}
	var a AuthDenial
	if err != nil && errors.As(err, &a) {
		return a.AuthDeniedReason()
	}
	return ""
}
