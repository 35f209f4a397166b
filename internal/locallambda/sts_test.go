package locallambda

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/lambda"
	"github.com/aws/aws-sdk-go-v2/service/sts"
	"github.com/aws/smithy-go"
)

const (
	testIssuer = "https://issuer.test"
	testRole   = "arn:aws:iam::000000000000:role/r"
	chainRole  = "arn:aws:iam::000000000000:role/chained"
)

func stsServer(t *testing.T, session time.Duration) (*testEnv, *TestIssuer) {
	t.Helper()
	iss, err := NewTestIssuer(testIssuer)
	if err != nil {
		t.Fatal(err)
	}
	env := startServer(t, Options{Dir: t.TempDir(), Credentials: map[string]string{"AKIDSTATIC": "static-secret"}, STS: &STSOptions{
		Issuer: testIssuer, JWKS: iss.JWKS(), MaxSessionDuration: session,
		Roles: map[string]Role{testRole: {WebIdentity: true}, chainRole: {AssumableBy: []string{testRole, "*"}}},
	}})
	return env, iss
}

func stsClient(url string, p aws.CredentialsProvider) *sts.Client {
	return sts.New(sts.Options{Region: "us-east-1", Credentials: p, BaseEndpoint: aws.String(url), Retryer: aws.NopRetryer{}})
}

func apiCode(err error) string {
	var ae smithy.APIError
	if errors.As(err, &ae) {
		return ae.ErrorCode()
	}
	return ""
}

func TestSTSIssuesCredentialsLambdaAccepts(t *testing.T) {
	env, iss := stsServer(t, 2*time.Second)
	ctx := ctxT(t)
	out, err := stsClient(env.url, nil).AssumeRoleWithWebIdentity(ctx, &sts.AssumeRoleWithWebIdentityInput{
		RoleArn: aws.String(testRole), RoleSessionName: aws.String("s1"),
		WebIdentityToken: aws.String(iss.Token("sa", "sts.amazonaws.com", time.Now().Add(time.Hour))),
	})
	if err != nil {
		t.Fatal(err)
	}
	c := out.Credentials
	if !strings.HasPrefix(aws.ToString(c.AccessKeyId), "ASIA") || aws.ToString(out.SubjectFromWebIdentityToken) != "sa" ||
		aws.ToString(out.AssumedRoleUser.Arn) != "arn:aws:sts::000000000000:assumed-role/r/s1" {
		t.Fatalf("unexpected answer: key %s, subject %s, arn %s", aws.ToString(c.AccessKeyId), aws.ToString(out.SubjectFromWebIdentityToken), aws.ToString(out.AssumedRoleUser.Arn))
	}
	session := credentials.NewStaticCredentialsProvider(aws.ToString(c.AccessKeyId), aws.ToString(c.SecretAccessKey), aws.ToString(c.SessionToken))
	lc := lambda.New(lambda.Options{Region: "us-east-1", Credentials: session, BaseEndpoint: aws.String(env.url), Retryer: aws.NopRetryer{}})

	t.Run("lambda accepts the session", func(t *testing.T) {
		if _, err := lc.ListFunctions(ctx, &lambda.ListFunctionsInput{}); err != nil {
			t.Fatal(err)
		}
	})
	t.Run("chained AssumeRole with the session", func(t *testing.T) {
		ar, err := stsClient(env.url, session).AssumeRole(ctx, &sts.AssumeRoleInput{RoleArn: aws.String(chainRole), RoleSessionName: aws.String("s2")})
		if err != nil {
			t.Fatal(err)
		}
		id, err := stsClient(env.url, credentials.NewStaticCredentialsProvider(aws.ToString(ar.Credentials.AccessKeyId), aws.ToString(ar.Credentials.SecretAccessKey), aws.ToString(ar.Credentials.SessionToken))).GetCallerIdentity(ctx, &sts.GetCallerIdentityInput{})
		if err != nil || aws.ToString(id.Arn) != "arn:aws:sts::000000000000:assumed-role/chained/s2" {
			t.Fatalf("caller %v, %v", aws.ToString(id.Arn), err)
		}
	})
	t.Run("a wrong session token is refused", func(t *testing.T) {
		bad := credentials.NewStaticCredentialsProvider(aws.ToString(c.AccessKeyId), aws.ToString(c.SecretAccessKey), "forged")
		bc := lambda.New(lambda.Options{Region: "us-east-1", Credentials: bad, BaseEndpoint: aws.String(env.url), Retryer: aws.NopRetryer{}})
		if _, err := bc.ListFunctions(ctx, &lambda.ListFunctionsInput{}); apiCode(err) != "UnrecognizedClientException" {
			t.Fatalf("error %v: want UnrecognizedClientException", err)
		}
	})
	t.Run("an expired session is refused", func(t *testing.T) {
		eventually(t, 5*time.Second, "the 2s session to expire", func() bool {
			_, err := lc.ListFunctions(ctx, &lambda.ListFunctionsInput{})
			return apiCode(err) == "ExpiredTokenException"
		})
		if _, err := stsClient(env.url, session).GetCallerIdentity(ctx, &sts.GetCallerIdentityInput{}); apiCode(err) != "ExpiredToken" {
			t.Fatalf("STS with an expired session: %v, want ExpiredToken", err)
		}
	})
}

func TestSTSRefusals(t *testing.T) {
	env, iss := stsServer(t, time.Hour)
	good := iss.Token("sa", "sts.amazonaws.com", time.Now().Add(time.Hour))
	static := credentials.NewStaticCredentialsProvider("AKIDSTATIC", "static-secret", "")
	tests := []struct {
		name string
		call func(ctx context.Context) error
		want string
	}{
		{"unknown role", func(ctx context.Context) error {
			_, err := stsClient(env.url, nil).AssumeRoleWithWebIdentity(ctx, &sts.AssumeRoleWithWebIdentityInput{RoleArn: aws.String("arn:aws:iam::000000000000:role/none"), RoleSessionName: aws.String("s"), WebIdentityToken: aws.String(good)})
			return err
		}, "AccessDenied"},
		{"role without web identity trust", func(ctx context.Context) error {
			_, err := stsClient(env.url, nil).AssumeRoleWithWebIdentity(ctx, &sts.AssumeRoleWithWebIdentityInput{RoleArn: aws.String(chainRole), RoleSessionName: aws.String("s"), WebIdentityToken: aws.String(good)})
			return err
		}, "AccessDenied"},
		{"expired token", func(ctx context.Context) error {
			_, err := stsClient(env.url, nil).AssumeRoleWithWebIdentity(ctx, &sts.AssumeRoleWithWebIdentityInput{RoleArn: aws.String(testRole), RoleSessionName: aws.String("s"), WebIdentityToken: aws.String(iss.Token("sa", "sts.amazonaws.com", time.Now().Add(-time.Second)))})
			return err
		}, "ExpiredTokenException"},
		{"static key may assume a role trusting *", func(ctx context.Context) error {
			_, err := stsClient(env.url, static).AssumeRole(ctx, &sts.AssumeRoleInput{RoleArn: aws.String(chainRole), RoleSessionName: aws.String("s")})
			return err
		}, ""},
		{"static key may not assume a role not trusting it", func(ctx context.Context) error {
			_, err := stsClient(env.url, static).AssumeRole(ctx, &sts.AssumeRoleInput{RoleArn: aws.String(testRole), RoleSessionName: aws.String("s")})
			return err
		}, "AccessDenied"},
		{"wrong secret", func(ctx context.Context) error {
			_, err := stsClient(env.url, credentials.NewStaticCredentialsProvider("AKIDSTATIC", "wrong", "")).GetCallerIdentity(ctx, &sts.GetCallerIdentityInput{})
			return err
		}, "SignatureDoesNotMatch"},
		{"wrong region", func(ctx context.Context) error {
			c := sts.New(sts.Options{Region: "eu-west-1", Credentials: static, BaseEndpoint: aws.String(env.url), Retryer: aws.NopRetryer{}})
			_, err := c.GetCallerIdentity(ctx, &sts.GetCallerIdentityInput{})
			return err
		}, "SignatureDoesNotMatch"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.call(ctxT(t))
			if got := apiCode(err); got != tc.want || (tc.want == "" && err != nil) {
				t.Fatalf("error %v (code %q), want code %q", err, got, tc.want)
			}
		})
	}
	t.Run("unknown action and version", func(t *testing.T) {
		for _, body := range []string{"Action=GetSessionToken&Version=2011-06-15", "Action=AssumeRole&Version=2010-01-01"} {
			resp, err := http.Post(env.url+"/", "application/x-www-form-urlencoded", strings.NewReader(body))
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if resp.StatusCode != 400 || resp.Header.Get("Content-Type") != "text/xml" {
				t.Fatalf("%s: status %d %s, want 400 text/xml", body, resp.StatusCode, resp.Header.Get("Content-Type"))
			}
		}
	})
}

func TestVerifyToken(t *testing.T) {
	iss, err := NewTestIssuer(testIssuer)
	if err != nil {
		t.Fatal(err)
	}
	keys, err := parseJWKS(iss.JWKS())
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	good := iss.Token("sa", "aud", now.Add(time.Minute))
	tests := []struct {
		name, token, want string
	}{
		{"valid", good, ""},
		{"expired", iss.Token("sa", "aud", now.Add(-time.Second)), "ExpiredTokenException: Token expired"},
		{"audience", iss.Token("sa", "other", now.Add(time.Minute)), "Incorrect token audience"},
		{"no subject", iss.Token("", "aud", now.Add(time.Minute)), "no sub claim"},
		{"tampered payload", good[:strings.IndexByte(good, '.')+1] + "eyJpc3MiOiJ4In0" + good[strings.LastIndexByte(good, '.'):], "signature is invalid"},
		{"not a JWT", "abc", "not a JWT"},
		{"alg none", "eyJhbGciOiJub25lIn0.e30.", "RS256"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := verifyToken(tc.token, keys, testIssuer, "aud", now)
			if (tc.want == "") != (err == nil) || (err != nil && !strings.Contains(err.Error(), tc.want)) {
				t.Fatalf("error %v, want %q", err, tc.want)
			}
			if err != nil && strings.Contains(err.Error(), tc.token) && len(tc.token) > 10 {
				t.Fatal("the error repeats the token")
			}
		})
	}
	if _, err := verifyToken(good, keys, "https://other", "aud", now); err == nil || !strings.Contains(err.Error(), "is not trusted") {
		t.Fatalf("wrong issuer: %v", err)
	}
}

func FuzzVerifyToken(f *testing.F) {
	iss, err := NewTestIssuer(testIssuer)
	if err != nil {
		f.Fatal(err)
	}
	keys, _ := parseJWKS(iss.JWKS())
	f.Add(iss.Token("sa", "aud", time.Now().Add(time.Hour)))
	f.Add("eyJhbGciOiJSUzI1NiJ9.eyJleHAiOjF9.AA")
	f.Add("..")
	f.Fuzz(func(t *testing.T, tok string) {
		c, err := verifyToken(tok, keys, testIssuer, "aud", time.Now())
		if err == nil && (c == nil || c.Subject == "") {
			t.Fatal("accepted a token without a subject")
		}
	})
}

func FuzzParseJWKS(f *testing.F) {
	iss, err := NewTestIssuer(testIssuer)
	if err != nil {
		f.Fatal(err)
	}
	f.Add(iss.JWKS())
	f.Add([]byte(`{"keys":[{"kty":"RSA","n":"AQ","e":"AQAB"}]}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		keys, err := parseJWKS(b)
		if err == nil && len(keys) == 0 {
			t.Fatal("no error and no key")
		}
	})
}

// FuzzSTSRequest sends arbitrary form bodies to the STS endpoint: it must
// answer with an XML document and never issue credentials without a valid
// token or signature.
func FuzzSTSRequest(f *testing.F) {
	iss, err := NewTestIssuer(testIssuer)
	if err != nil {
		f.Fatal(err)
	}
	srv, err := New(Options{Dir: f.TempDir(), STS: &STSOptions{Issuer: testIssuer, JWKS: iss.JWKS(), Roles: map[string]Role{testRole: {WebIdentity: true, AssumableBy: []string{"*"}}}}})
	if err != nil {
		f.Fatal(err)
	}
	f.Cleanup(func() { srv.Close() })
	f.Add("Action=AssumeRoleWithWebIdentity&Version=2011-06-15&RoleArn=" + url.QueryEscape(testRole) + "&RoleSessionName=s&WebIdentityToken=x.y.z")
	f.Add("Action=AssumeRole&Version=2011-06-15&RoleArn=" + url.QueryEscape(testRole) + "&RoleSessionName=s")
	f.Add("Action=GetCallerIdentity&Version=2011-06-15")
	f.Add("%zz")
	f.Fuzz(func(t *testing.T, body string) {
		rec := httptest.NewRecorder()
		srv.Handler().ServeHTTP(rec, httptest.NewRequest(http.MethodPost, "/", strings.NewReader(body)))
		if rec.Code == 200 || !strings.HasPrefix(rec.Body.String(), "<ErrorResponse") {
			t.Fatalf("status %d body %.200s: want an XML error for an unauthenticated request", rec.Code, rec.Body.String())
		}
	})
}
