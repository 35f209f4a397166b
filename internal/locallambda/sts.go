package locallambda

import (
	"crypto/rand"
	"crypto/subtle"
	"encoding/xml"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/google/uuid"
)

// STSOptions turns on the local STS endpoint (POST / with Action=AssumeRole,
// AssumeRoleWithWebIdentity or GetCallerIdentity, Version=2011-06-15). The
// credentials it issues are accepted by the local Lambda until they expire.
type STSOptions struct {
	// Roles are the IAM roles that exist, by ARN, and who may assume them.
	// A role not listed is refused with AccessDenied. Default: none.
	Roles map[string]Role
	// Issuer is the OIDC issuer (the token's iss) trusted by roles with
	// WebIdentity. Required when a role sets WebIdentity.
	Issuer string
	// Audience is the aud a web identity token must carry. Default
	// "sts.amazonaws.com", the audience of EKS service account tokens.
	Audience string
	// JWKS is the issuer's JSON Web Key Set; tokens must be RS256 signed by
	// one of its RSA keys. Required when a role sets WebIdentity.
	JWKS []byte
	// MaxSessionDuration caps the lifetime of issued credentials (the
	// requested DurationSeconds is honoured below it). Default 1h. Tests
	// set seconds to exercise refresh.
	MaxSessionDuration time.Duration
}

// Role is an IAM role's trust policy, reduced to what the local STS checks.
type Role struct {
	// WebIdentity lets a valid token of STSOptions.Issuer assume the role.
	// Default false.
	WebIdentity bool
	// AssumableBy lists the role ARNs whose sessions may AssumeRole this
	// role (role chaining); "*" also admits any key of Options.Credentials.
	// Default: none.
	AssumableBy []string
}

// STSCall is one STS request as the local STS saw it, for tests.
type STSCall struct {
	Action  string
	RoleARN string
	// Caller is the role ARN of the calling session, or the access key ID
	// of a static key; "" for AssumeRoleWithWebIdentity.
	Caller string
	// Subject is the web identity token's sub.
	Subject string
	// Error is the STS error code, "" on success.
	Error string
}

const (
	stsVersion      = "2011-06-15"
	stsXMLNS        = "https://sts.amazonaws.com/doc/2011-06-15/"
	stsMaxBody      = 64 << 10
	maxSTSCallsKept = 1000
)

type stsSession struct {
	secret, token string
	roleARN       string
	arn           string // arn:aws:sts::<account>:assumed-role/<name>/<session>
	expires       time.Time
}

type stsState struct {
	opts STSOptions
	keys jwks

	mu       sync.Mutex
	sessions map[string]*stsSession // access key ID -> session
	calls    []STSCall
}

func newSTS(o STSOptions) (*stsState, error) {
	if o.Audience == "" {
		o.Audience = "sts.amazonaws.com"
	}
	if o.MaxSessionDuration <= 0 {
		o.MaxSessionDuration = time.Hour
	}
	st := &stsState{opts: o, sessions: map[string]*stsSession{}}
	for arn, r := range o.Roles {
		if !strings.HasPrefix(arn, "arn:aws:iam::") || !strings.Contains(arn, ":role/") {
			return nil, fmt.Errorf("options: STS.Roles: %q is not an IAM role ARN (arn:aws:iam::<account>:role/<name>)", arn)
		}
		if r.WebIdentity && (o.Issuer == "" || len(o.JWKS) == 0) {
			return nil, fmt.Errorf("options: STS.Roles[%q] trusts web identity: STS.Issuer and STS.JWKS are required", arn)
		}
	}
	if len(o.JWKS) > 0 {
		k, err := parseJWKS(o.JWKS)
		if err != nil {
			return nil, fmt.Errorf("options: STS.JWKS: %w", err)
		}
		st.keys = k
	}
	return st, nil
}

// STSCalls returns the STS requests seen so far (the last 1000), oldest
// first.
func (s *Server) STSCalls() []STSCall {
	if s.sts == nil {
		return nil
	}
	s.sts.mu.Lock()
	defer s.sts.mu.Unlock()
	return append([]STSCall(nil), s.sts.calls...)
}

// isSTSRequest tells STS calls (POST / with a form body) from Lambda API
// calls, which all live under /2015-03-31/.
func (s *Server) isSTSRequest(r *http.Request) bool {
	return s.sts != nil && r.Method == http.MethodPost && r.URL.Path == "/"
}

type stsError struct {
	status int
	code   string
	msg    string
}

func (s *Server) serveSTS(w http.ResponseWriter, r *http.Request) {
	reqID := uuid.NewString()
	w.Header().Set("X-Amzn-RequestId", reqID)
	body, err := io.ReadAll(io.LimitReader(r.Body, stsMaxBody+1))
	if err != nil || len(body) > stsMaxBody {
		writeSTSError(w, reqID, &stsError{http.StatusBadRequest, "ValidationError", "request body is unreadable or larger than 64 KiB"})
		return
	}
	form, err := url.ParseQuery(string(body))
	if err != nil {
		writeSTSError(w, reqID, &stsError{http.StatusBadRequest, "MalformedQueryString", "request body is not application/x-www-form-urlencoded"})
		return
	}
	call := STSCall{Action: form.Get("Action"), RoleARN: form.Get("RoleArn")}
	var resp any
	var serr *stsError
	if v := form.Get("Version"); v != stsVersion {
		serr = &stsError{http.StatusBadRequest, "InvalidAction", fmt.Sprintf("Could not find operation %s for version %s", call.Action, v)}
	} else {
		switch call.Action {
		case "AssumeRoleWithWebIdentity":
			resp, serr = s.sts.assumeRoleWithWebIdentity(form, &call, s.opts.AccountID)
		case "AssumeRole":
			var caller *caller
			if caller, serr = s.stsCaller(r, body); serr == nil {
				call.Caller = caller.name
				resp, serr = s.sts.assumeRole(form, caller, s.opts.AccountID)
			}
		case "GetCallerIdentity":
			var caller *caller
			if caller, serr = s.stsCaller(r, body); serr == nil {
				call.Caller = caller.name
				resp = getCallerIdentityResponse{XMLNS: stsXMLNS, Arn: caller.arn, UserID: caller.userID, Account: s.opts.AccountID, RequestID: reqID}
			}
		default:
			serr = &stsError{http.StatusBadRequest, "InvalidAction", fmt.Sprintf("Could not find operation %s for version %s", call.Action, stsVersion)}
		}
	}
	if serr != nil {
		call.Error = serr.code
	}
	s.sts.record(call)
	if serr != nil {
		s.log.Info("sts request refused", "action", call.Action, "role", call.RoleARN, "code", serr.code, "message", serr.msg)
		writeSTSError(w, reqID, serr)
		return
	}
	switch v := resp.(type) {
	case *assumeRoleWithWebIdentityResponse:
		v.RequestID = reqID
	case *assumeRoleResponse:
		v.RequestID = reqID
	}
	writeXML(w, http.StatusOK, resp)
}

func (st *stsState) record(c STSCall) {
	st.mu.Lock()
	defer st.mu.Unlock()
	if len(st.calls) >= maxSTSCallsKept {
		st.calls = append(st.calls[:0], st.calls[len(st.calls)-maxSTSCallsKept+1:]...)
	}
	st.calls = append(st.calls, c)
}

// caller is the identity that signed an STS request.
type caller struct {
	name   string // role ARN of a session, or a static access key ID
	arn    string
	userID string
	static bool
}

// stsCaller checks a signed STS request (service "sts") and returns who
// signed it: a session this STS issued, or a key of Options.Credentials.
func (s *Server) stsCaller(r *http.Request, body []byte) (*caller, *stsError) {
	h := r.Header.Get("Authorization")
	if h == "" {
		return nil, &stsError{http.StatusForbidden, "MissingAuthenticationToken", "Request is missing Authentication Token"}
	}
	a, err := parseAuthorization(h)
	if err != nil {
		return nil, &stsError{http.StatusBadRequest, "IncompleteSignature", err.Error()}
	}
	if a.Service != "sts" {
		return nil, &stsError{http.StatusForbidden, "SignatureDoesNotMatch", fmt.Sprintf("Credential should be scoped to correct service: 'sts', not %q.", a.Service)}
	}
	if a.Region != s.opts.Region {
		// The message envoy-gloo classifies (gloo#8578).
		return nil, &stsError{http.StatusForbidden, "SignatureDoesNotMatch", "Credential should be scoped to a valid region."}
	}
	signTime, err := time.Parse(amzDateLayout, r.Header.Get("X-Amz-Date"))
	if err != nil || signTime.Format("20060102") != a.Date {
		return nil, &stsError{http.StatusBadRequest, "IncompleteSignature", "X-Amz-Date header: must match the credential scope date in the form yyyymmddThhmmssZ"}
	}
	now := time.Now()
	if d := now.Sub(signTime); d > maxClockSkew || d < -maxClockSkew {
		return nil, &stsError{http.StatusForbidden, "SignatureDoesNotMatch", "Signature expired or not yet current (more than 5 minutes from the server's time)"}
	}
	token := r.Header.Get("X-Amz-Security-Token")
	var creds aws.Credentials
	var c *caller
	if sess, serr := s.sts.session(a.AccessKeyID, token, now); serr != nil {
		return nil, serr
	} else if sess != nil {
		creds = aws.Credentials{AccessKeyID: a.AccessKeyID, SecretAccessKey: sess.secret, SessionToken: token}
		c = &caller{name: sess.roleARN, arn: sess.arn, userID: "AROA" + a.AccessKeyID[4:] + ":" + sess.arn[strings.LastIndexByte(sess.arn, '/')+1:]}
	} else if secret, ok := s.opts.Credentials[a.AccessKeyID]; ok {
		creds = aws.Credentials{AccessKeyID: a.AccessKeyID, SecretAccessKey: secret, SessionToken: token}
		c = &caller{name: a.AccessKeyID, arn: "arn:aws:iam::" + s.opts.AccountID + ":user/" + a.AccessKeyID, userID: a.AccessKeyID, static: true}
	} else {
		return nil, &stsError{http.StatusForbidden, "InvalidClientTokenId", "The security token included in the request is invalid."}
	}
	want, err := expectedSignature(r, a, body, creds, signTime)
	if err != nil || subtle.ConstantTimeCompare([]byte(want), []byte(a.Signature)) != 1 {
		return nil, &stsError{http.StatusForbidden, "SignatureDoesNotMatch", "The request signature we calculated does not match the signature you provided. Check your AWS Secret Access Key and signing method."}
	}
	return c, nil
}

// session returns the issued session of an access key ID, nil if the key
// was not issued here, or an error if the token is wrong or it expired.
func (st *stsState) session(keyID, token string, now time.Time) (*stsSession, *stsError) {
	st.mu.Lock()
	sess, ok := st.sessions[keyID]
	st.mu.Unlock()
	if !ok {
		return nil, nil
	}
	if subtle.ConstantTimeCompare([]byte(sess.token), []byte(token)) != 1 {
		return nil, &stsError{http.StatusForbidden, "InvalidClientTokenId", "The security token included in the request is invalid."}
	}
	if !now.Before(sess.expires) {
		return nil, &stsError{http.StatusBadRequest, "ExpiredToken", "The security token included in the request is expired"}
	}
	return sess, nil
}

func (st *stsState) assumeRoleWithWebIdentity(form url.Values, call *STSCall, account string) (any, *stsError) {
	roleARN, token := form.Get("RoleArn"), form.Get("WebIdentityToken")
	sessName := form.Get("RoleSessionName")
	if roleARN == "" || token == "" || sessName == "" {
		return nil, &stsError{http.StatusBadRequest, "ValidationError", "RoleArn, RoleSessionName and WebIdentityToken are required"}
	}
	claims, err := verifyToken(token, st.keys, st.opts.Issuer, st.opts.Audience, time.Now())
	if err != nil {
		te := err.(*tokenError)
		return nil, &stsError{http.StatusBadRequest, te.code, te.msg}
	}
	call.Subject = claims.Subject
	role, ok := st.opts.Roles[roleARN]
	if !ok || !role.WebIdentity {
		return nil, &stsError{http.StatusForbidden, "AccessDenied", "Not authorized to perform sts:AssumeRoleWithWebIdentity"}
	}
	creds, arn, serr := st.issue(roleARN, sessName, form.Get("DurationSeconds"), account)
	if serr != nil {
		return nil, serr
	}
	return &assumeRoleWithWebIdentityResponse{XMLNS: stsXMLNS, Result: webIdentityResult{
		Credentials: creds, Subject: claims.Subject, Audience: st.opts.Audience, Provider: st.opts.Issuer,
		AssumedRoleUser: assumedRoleUser{Arn: arn, AssumedRoleID: "AROA" + creds.AccessKeyID[4:] + ":" + sessName},
	}}, nil
}

func (st *stsState) assumeRole(form url.Values, c *caller, account string) (any, *stsError) {
	roleARN, sessName := form.Get("RoleArn"), form.Get("RoleSessionName")
	if roleARN == "" || sessName == "" {
		return nil, &stsError{http.StatusBadRequest, "ValidationError", "RoleArn and RoleSessionName are required"}
	}
	denied := &stsError{http.StatusForbidden, "AccessDenied", fmt.Sprintf("User: %s is not authorized to perform: sts:AssumeRole on resource: %s", c.arn, roleARN)}
	role, ok := st.opts.Roles[roleARN]
	if !ok {
		return nil, denied
	}
	allowed := false
	for _, p := range role.AssumableBy {
		allowed = allowed || p == c.name || (p == "*" && c.static)
	}
	if !allowed {
		return nil, denied
	}
	creds, arn, serr := st.issue(roleARN, sessName, form.Get("DurationSeconds"), account)
	if serr != nil {
		return nil, serr
	}
	return &assumeRoleResponse{XMLNS: stsXMLNS, Result: assumeRoleResult{
		Credentials:     creds,
		AssumedRoleUser: assumedRoleUser{Arn: arn, AssumedRoleID: "AROA" + creds.AccessKeyID[4:] + ":" + sessName},
	}}, nil
}

// issue creates a session for roleARN living min(DurationSeconds or 1h,
// MaxSessionDuration). The expiry is whole seconds, as STS reports it, so
// the client and this server agree on it exactly.
func (st *stsState) issue(roleARN, sessName, durationParam, account string) (stsCredentials, string, *stsError) {
	d := time.Hour
	if durationParam != "" {
		n, err := strconv.Atoi(durationParam)
		if err != nil || n < 1 || n > 43200 {
			return stsCredentials{}, "", &stsError{http.StatusBadRequest, "ValidationError", "DurationSeconds must be an integer between 900 and 43200"}
		}
		d = time.Duration(n) * time.Second
	}
	d = min(d, st.opts.MaxSessionDuration)
	now := time.Now()
	exp := now.Add(d).UTC().Truncate(time.Second)
	keyID := "ASIA" + randomString(16, upperAlnum)
	sess := &stsSession{
		secret:  randomString(40, secretAlphabet),
		token:   "IQoJb3JpZ2luX2VjE" + randomString(200, secretAlphabet),
		roleARN: roleARN,
		arn:     "arn:aws:sts::" + account + ":assumed-role/" + roleARN[strings.LastIndexByte(roleARN, '/')+1:] + "/" + sessName,
		expires: exp,
	}
	st.mu.Lock()
	for k, old := range st.sessions {
		if now.After(old.expires) {
			delete(st.sessions, k)
		}
	}
	st.sessions[keyID] = sess
	st.mu.Unlock()
	return stsCredentials{AccessKeyID: keyID, SecretAccessKey: sess.secret, SessionToken: sess.token, Expiration: exp.Format(time.RFC3339)}, sess.arn, nil
}

const (
	upperAlnum     = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567"
	secretAlphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
)

// randomString draws n characters of alphabet (whose length divides 256,
// so every character is equally likely) from crypto/rand.
func randomString(n int, alphabet string) string {
	b := make([]byte, n)
	_, _ = rand.Read(b) // never fails (crypto/rand contract since Go 1.24)
	for i := range b {
		b[i] = alphabet[int(b[i])%len(alphabet)]
	}
	return string(b)
}

type stsCredentials struct {
	AccessKeyID     string `xml:"AccessKeyId"`
	SecretAccessKey string `xml:"SecretAccessKey"`
	SessionToken    string `xml:"SessionToken"`
	Expiration      string `xml:"Expiration"`
}

type assumedRoleUser struct {
	Arn           string `xml:"Arn"`
	AssumedRoleID string `xml:"AssumedRoleId"`
}

type webIdentityResult struct {
	Credentials     stsCredentials  `xml:"Credentials"`
	Subject         string          `xml:"SubjectFromWebIdentityToken"`
	AssumedRoleUser assumedRoleUser `xml:"AssumedRoleUser"`
	Audience        string          `xml:"Audience"`
	Provider        string          `xml:"Provider"`
}

type assumeRoleWithWebIdentityResponse struct {
	XMLName   xml.Name          `xml:"AssumeRoleWithWebIdentityResponse"`
	XMLNS     string            `xml:"xmlns,attr"`
	Result    webIdentityResult `xml:"AssumeRoleWithWebIdentityResult"`
	RequestID string            `xml:"ResponseMetadata>RequestId"`
}

type assumeRoleResult struct {
	Credentials     stsCredentials  `xml:"Credentials"`
	AssumedRoleUser assumedRoleUser `xml:"AssumedRoleUser"`
}

type assumeRoleResponse struct {
	XMLName   xml.Name         `xml:"AssumeRoleResponse"`
	XMLNS     string           `xml:"xmlns,attr"`
	Result    assumeRoleResult `xml:"AssumeRoleResult"`
	RequestID string           `xml:"ResponseMetadata>RequestId"`
}

type getCallerIdentityResponse struct {
	XMLName   xml.Name `xml:"GetCallerIdentityResponse"`
	XMLNS     string   `xml:"xmlns,attr"`
	Arn       string   `xml:"GetCallerIdentityResult>Arn"`
	UserID    string   `xml:"GetCallerIdentityResult>UserId"`
	Account   string   `xml:"GetCallerIdentityResult>Account"`
	RequestID string   `xml:"ResponseMetadata>RequestId"`
}

type stsErrorResponse struct {
	XMLName   xml.Name `xml:"ErrorResponse"`
	XMLNS     string   `xml:"xmlns,attr"`
	Type      string   `xml:"Error>Type"`
	Code      string   `xml:"Error>Code"`
	Message   string   `xml:"Error>Message"`
	RequestID string   `xml:"RequestId"`
}

func writeSTSError(w http.ResponseWriter, reqID string, e *stsError) {
	typ := "Sender"
	if e.status >= 500 {
		typ = "Receiver"
	}
	writeXML(w, e.status, stsErrorResponse{XMLNS: stsXMLNS, Type: typ, Code: e.code, Message: e.msg, RequestID: reqID})
}

func writeXML(w http.ResponseWriter, status int, v any) {
	b, err := xml.Marshal(v)
	if err != nil {
		status, b = http.StatusInternalServerError, []byte(`<ErrorResponse><Error><Type>Receiver</Type><Code>InternalFailure</Code><Message>encoding response</Message></Error></ErrorResponse>`)
	}
	w.Header().Set("Content-Type", "text/xml")
	w.Header().Set("Content-Length", strconv.Itoa(len(b)))
	w.WriteHeader(status)
	_, _ = w.Write(b)
}

// issuedSecret returns the secret of credentials this STS issued, with
// issued false for any other key. Lambda answers a wrong or expired
// session with its own error codes.
func (s *Server) issuedSecret(keyID, token string, now time.Time) (secret string, issued bool, _ *authError) {
	if s.sts == nil {
		return "", false, nil
	}
	sess, serr := s.sts.session(keyID, token, now)
	switch {
	case serr != nil && serr.code == "ExpiredToken":
		return "", true, &authError{http.StatusForbidden, "ExpiredTokenException", "The security token included in the request is expired"}
	case serr != nil:
		return "", true, &authError{http.StatusForbidden, "UnrecognizedClientException", "The security token included in the request is invalid."}
	case sess == nil:
		return "", false, nil
	}
	return sess.secret, true, nil
}
