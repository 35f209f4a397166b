package chaos

import (
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"io/fs"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/lambdagate/lambdagate/test/harness"
)

// scanOutputs greps every output the suite kept for the secret markers.
// TestMain runs it after all tests, so nothing any case printed escapes.
func scanOutputs() (scanned int, leaks []string) {
	outputs.mu.Lock()
	defer outputs.mu.Unlock()
	for _, b := range outputs.all {
		s := b.String()
		scanned += len(s)
		for _, m := range secretMarkers {
			if i := strings.Index(s, m); i >= 0 {
				leaks = append(leaks, fmt.Sprintf("%q in ...%s...", m, s[max(0, i-200):min(len(s), i+100)]))
			}
		}
	}
	return scanned, leaks
}

// TestSecretsRedacted: the CLI redacts the secret key and session token
// unless --show-secrets is given (which proves the markers would be found
// if they leaked), and the gateway's error bodies, statuses and logs for
// credential failures do not carry them.
func TestSecretsRedacted(t *testing.T) {
	t.Parallel()
	stub := harness.NewLambdaStub(t)
	// The stub accepts another secret: every call is a credential failure
	// the gateway logs and reports.
	stub.Accept(chaosKeyID, "not-the-configured-one", "")
	stub.On("fn", harness.Echo)
	g := startGateway(t, harness.Options{})
	g.Apply(t,
		harness.AWSSecret("creds", chaosKeyID, chaosSecret, chaosToken),
		harness.Upstream("up", "creds", stub.URL(), []harness.Fn{{Logical: "fn", Name: "fn"}}, nil),
		harness.Upstream("up-missing", "no-such-secret", stub.URL(), []harness.Fn{{Logical: "fn", Name: "fn"}}, nil),
		harness.VirtualService("sec", []string{"*"}, nil, harness.Route{Exact: "/fn", Upstream: "up", AWS: harness.Dest("fn")}),
	)
	g.WaitState(t, "vs", harness.Namespace, "sec", "Accepted", "Warning")
	r := harness.Do(t, "GET", g.URL+"/fn", nil, nil)
	if r.StatusCode != 502 {
		t.Errorf("a refused signature: %d %s", r.StatusCode, r.Body)
	}
	for _, args := range [][]string{
		{"get", "secret", "creds", "-n", harness.Namespace, "-o", "yaml"},
		{"get", "secret", "creds", "-n", harness.Namespace, "-o", "json"},
		{"get", "secret", "-n", harness.Namespace},
		{"get", "upstream", "-n", harness.Namespace, "-o", "yaml"},
		{"get", "vs", "-n", harness.Namespace, "-o", "yaml"},
		{"get", "secret", "creds", "-n", harness.Namespace, "-o", "yaml", "-v"},
		{"create", "secret", "aws", "--name", "dry", "--access-key", chaosKeyID, "--secret-key", chaosSecret, "--session-token", chaosToken, "--dry-run", "-o", "yaml"},
	} {
		out, err := g.Run("", args...)
		t.Logf("lambdagate %s: err=%v", strings.Join(args, " "), err)
		_ = out // kept by runCLI and grepped at the end
	}
	shown, err := g.Run("", "get", "secret", "creds", "-n", harness.Namespace, "-o", "yaml", "--show-secrets")
	if err != nil {
		t.Fatalf("get --show-secrets: %v %s", err, shown)
	}
	// Kubernetes secrets hold base64; the marker must be found in the
	// decoded value, so check the base64 form is what is printed.
	if !strings.Contains(shown, harness.B64(chaosSecret)) {
		t.Errorf("--show-secrets does not show the secret; the leak check would not see a leak either:\n%s", shown)
	}
	// The base64 forms are markers too.
	secretMarkers = append(secretMarkers, harness.B64(chaosSecret), harness.B64(chaosToken))
	record(t, "CLI get/create outputs, a 502 for refused credentials and the gateway's logs checked for the secret key and session token (plain and base64)")
}

// TestHostSpoofing: whatever Host, X-Forwarded-Host, absolute request URI
// or x-amz-* headers the client sends, the request the gateway signs goes
// to the upstream's endpoint with its own Host, and the stub verifies the
// signature.
func TestHostSpoofing(t *testing.T) {
	t.Parallel()
	stub := harness.NewLambdaStub(t)
	stub.Accept(chaosKeyID, chaosSecret, chaosToken)
	stub.On("fn", harness.Echo)
	g := startGateway(t, harness.Options{})
	g.Apply(t,
		harness.AWSSecret("creds", chaosKeyID, chaosSecret, chaosToken),
		harness.Upstream("up", "creds", stub.URL(), []harness.Fn{{Logical: "fn", Name: "fn"}}, nil),
		harness.VirtualService("host", []string{"*"}, nil, harness.Route{Prefix: "/", Upstream: "up", AWS: harness.Dest("fn")}),
	)
	g.WaitState(t, "vs", harness.Namespace, "host", "Accepted")
	stubHost := strings.TrimPrefix(stub.URL(), "http://")
	raws := map[string]string{
		"Host":                "POST /x HTTP/1.1\r\nHost: lambda.us-east-1.amazonaws.com\r\nContent-Length: 2\r\n\r\n{}",
		"absolute URI":        "POST http://evil.example.com/x HTTP/1.1\r\nHost: evil.example.com\r\nContent-Length: 2\r\n\r\n{}",
		"X-Forwarded-Host":    "POST /x HTTP/1.1\r\nHost: x\r\nX-Forwarded-Host: evil.example.com\r\nForwarded: host=evil.example.com\r\nContent-Length: 2\r\n\r\n{}",
		"x-amz and auth":      "POST /x HTTP/1.1\r\nHost: x\r\nX-Amz-Date: 20000101T000000Z\r\nX-Amz-Security-Token: stolen\r\nAuthorization: AWS4-HMAC-SHA256 Credential=AKIDEVIL/20000101/us-east-1/lambda/aws4_request, SignedHeaders=host, Signature=00\r\nX-Amz-Invocation-Type: Event\r\nX-Amz-Log-Type: Tail\r\nX-Amz-Client-Context: e30=\r\nContent-Length: 2\r\n\r\n{}",
		"hop-by-hop":          "POST /x HTTP/1.1\r\nHost: x\r\nConnection: close, X-Amz-Date\r\nTE: trailers\r\nUpgrade: h2c\r\nProxy-Authorization: Basic eDp4\r\nContent-Length: 2\r\n\r\n{}",
		"host with port/user": "POST /x HTTP/1.1\r\nHost: user@evil.example.com:1\r\nContent-Length: 2\r\n\r\n{}",
	}
	for name, raw := range raws {
		t.Run(name, func(t *testing.T) {
			stub.Reset("fn")
			resp, err := harness.RawExchange(t, g.Addr, raw)
			if err != nil {
				t.Fatalf("no answer: %v", err)
			}
			recs := stub.Requests("fn")
			if resp.StatusCode >= 400 {
				// Refusing the request is fine; nothing may reach Lambda then.
				record(t, "refused with %d", resp.StatusCode)
				if len(recs) != 0 {
					t.Errorf("refused, yet Lambda got %d requests", len(recs))
				}
				return
			}
			if len(recs) != 1 {
				t.Fatalf("the stub got %d requests", len(recs))
			}
			rec := recs[0]
			record(t, "%d; Lambda saw Host %q, access key %s, signature error %q, invocation type %q", resp.StatusCode, rec.Host, rec.AccessKey, rec.SigErr, rec.Header.Get("X-Amz-Invocation-Type"))
			if rec.Host != stubHost || rec.SigErr != "" || rec.AccessKey != chaosKeyID {
				t.Errorf("Lambda saw Host %q key %q signature error %q", rec.Host, rec.AccessKey, rec.SigErr)
			}
			for k := range rec.Header {
				switch strings.ToLower(k) {
				case "x-forwarded-host", "forwarded", "x-amz-log-type", "x-amz-client-context", "te", "upgrade", "proxy-authorization", "connection":
					t.Errorf("client header %s reached Lambda", k)
				}
			}
			if v := rec.Header.Get("X-Amz-Security-Token"); v != chaosToken {
				t.Errorf("X-Amz-Security-Token %q reached Lambda", v)
			}
			if v := rec.Header.Get("X-Amz-Invocation-Type"); v != "RequestResponse" {
				t.Errorf("the client chose the invocation type: %q", v)
			}
		})
	}
}

// TestAdminLoopbackByDefault: the admin listener's default address is
// loopback, and the data listener serves none of the admin paths.
func TestAdminLoopbackByDefault(t *testing.T) {
	t.Parallel()
	help, err := harness.CLI(t.TempDir(), "", "serve", "--help")
	if err != nil {
		t.Fatal(err)
	}
	var line string
	for _, l := range strings.Split(help, "\n") {
		if f := strings.Fields(l); len(f) > 0 && f[0] == "--admin-addr" {
			line = strings.TrimSpace(l)
		}
	}
	record(t, "serve --help: %s", line)
	if !strings.Contains(line, `"127.0.0.1:9091"`) {
		t.Errorf("the --admin-addr default is not loopback: %s", line)
	}
	g := startGateway(t, harness.Options{})
	host, _, _ := net.SplitHostPort(strings.TrimPrefix(g.AdminURL, "http://"))
	if host != "127.0.0.1" {
		t.Errorf("admin URL %s", g.AdminURL)
	}
	// The first snapshot is built just after the listeners open: until
	// then /readyz is 503 on purpose.
	harness.Eventually(t, 10*time.Second, func() error {
		if c, b, err := g.Readyz(); err != nil || c != 200 {
			return fmt.Errorf("/readyz %d %q %v", c, b, err)
		}
		return nil
	})
	for _, p := range []string{"/readyz", "/healthz", "/metrics", "/debug/pprof/", "/debug/pprof/goroutine?debug=1", "/config_dump"} {
		r := harness.Do(t, "GET", g.URL+p, nil, nil)
		a := harness.Do(t, "GET", g.AdminURL+p, nil, nil)
		record(t, "%s: data listener %d, admin listener %d", p, r.StatusCode, a.StatusCode)
		if r.StatusCode == 200 {
			t.Errorf("the data listener serves %s", p)
		}
		if a.StatusCode != 200 {
			t.Errorf("the admin listener answers %s with %d", p, a.StatusCode)
		}
	}
	// DNS rebinding: a page at evil.example whose name now resolves to
	// the admin address sends Host: evil.example.
	for _, p := range []string{"/config_dump", "/debug/pprof/"} {
		r := harness.Do(t, "GET", g.AdminURL+p, nil, map[string]string{"Host": "evil.example"})
		record(t, "%s with Host evil.example: %d", p, r.StatusCode)
		if r.StatusCode != 403 {
			t.Errorf("%s with Host evil.example: %d, want 403", p, r.StatusCode)
		}
	}
}

// TestTLSDefaults: which TLS versions and cipher suites the HTTPS
// listener accepts, and that a changed certificate secret is used by new
// handshakes without a restart.
func TestTLSDefaults(t *testing.T) {
	t.Parallel()
	stub := harness.NewLambdaStub(t)
	stub.Accept(chaosKeyID, chaosSecret, chaosToken)
	stub.On("fn", harness.LambdaOK(`{"tls":true}`))
	cert1, key1, _ := harness.SelfSigned(t, "secure.example.com")
	g := startGateway(t, harness.Options{TLS: true})
	g.Apply(t,
		harness.AWSSecret("creds", chaosKeyID, chaosSecret, chaosToken),
		harness.TLSSecret("tls-cert", cert1, key1),
		harness.Upstream("up", "creds", stub.URL(), []harness.Fn{{Logical: "fn", Name: "fn"}}, nil),
		harness.VirtualService("secure", []string{"secure.example.com"}, harness.Obj{"secretRef": harness.Obj{"name": "tls-cert", "namespace": harness.Namespace}},
			harness.Route{Prefix: "/", Upstream: "up", AWS: harness.Dest("fn")}),
	)
	g.WaitState(t, "vs", harness.Namespace, "secure", "Accepted")

	handshake := func(cfg *tls.Config) (*tls.ConnectionState, error) {
		cfg.ServerName = "secure.example.com"
		cfg.InsecureSkipVerify = true // the certificate is checked by hand below
		d := &net.Dialer{Timeout: 5 * time.Second}
		c, err := tls.DialWithDialer(d, "tcp", g.TLSAddr, cfg)
		if err != nil {
			return nil, err
		}
		defer c.Close()
		st := c.ConnectionState()
		return &st, nil
	}
	t.Run("versions", func(t *testing.T) {
		for _, v := range []uint16{tls.VersionTLS10, tls.VersionTLS11, tls.VersionTLS12, tls.VersionTLS13} {
			_, err := handshake(&tls.Config{MinVersion: v, MaxVersion: v})
			record(t, "%s: accepted=%v", tls.VersionName(v), err == nil)
			if (err == nil) != (v >= tls.VersionTLS12) {
				t.Errorf("%s accepted=%v", tls.VersionName(v), err == nil)
			}
		}
	})
	t.Run("TLS 1.2 cipher suites", func(t *testing.T) {
		var accepted, refused []string
		for _, list := range [][]*tls.CipherSuite{tls.CipherSuites(), tls.InsecureCipherSuites()} {
			for _, cs := range list {
				if !supportsTLS12(cs) {
					continue
				}
				_, err := handshake(&tls.Config{MinVersion: tls.VersionTLS12, MaxVersion: tls.VersionTLS12, CipherSuites: []uint16{cs.ID}})
				if err == nil {
					accepted = append(accepted, cs.Name)
					// Forward secrecy and AEAD only: no CBC, no RSA key
					// exchange, no RC4 or 3DES.
					if cs.Insecure || strings.Contains(cs.Name, "CBC") || strings.HasPrefix(cs.Name, "TLS_RSA_") {
						t.Errorf("weak suite %s accepted", cs.Name)
					}
				} else {
					refused = append(refused, cs.Name)
				}
			}
		}
		record(t, "accepted: %s", strings.Join(accepted, ", "))
		record(t, "refused: %s", strings.Join(refused, ", "))
	})
	t.Run("certificate reload", func(t *testing.T) {
		st, err := handshake(&tls.Config{})
		if err != nil {
			t.Fatal(err)
		}
		first := st.PeerCertificates[0]
		cert2, key2, _ := harness.SelfSigned(t, "secure.example.com")
		start := time.Now()
		g.Apply(t, harness.TLSSecret("tls-cert", cert2, key2))
		want, _ := x509ParsePEM(cert2)
		var took time.Duration
		harness.Eventually(t, 10*time.Second, func() error {
			st, err := handshake(&tls.Config{})
			if err != nil {
				return err
			}
			if !st.PeerCertificates[0].Equal(want) {
				return fmt.Errorf("still the old certificate (serial %s)", st.PeerCertificates[0].SerialNumber)
			}
			took = time.Since(start)
			return nil
		})
		record(t, "new handshakes got the new certificate %s after the secret was applied (old serial %s)", took.Round(time.Millisecond), first.SerialNumber)
	})
}

func supportsTLS12(cs *tls.CipherSuite) bool {
	for _, v := range cs.SupportedVersions {
		if v == tls.VersionTLS12 {
			return true
		}
	}
	return false
}

// TestDataDirOwnerOnly: the data directory is 0700 and every file in it
// 0600, for a directory the gateway creates.
func TestDataDirOwnerOnly(t *testing.T) {
	t.Parallel()
	dir := filepath.Join(t.TempDir(), "new", "data")
	g := startGateway(t, harness.Options{DataDir: dir})
	g.Apply(t, harness.AWSSecret("creds", chaosKeyID, chaosSecret, chaosToken))
	var found []string
	err := filepath.WalkDir(filepath.Dir(dir), func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		fi, err := d.Info()
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(filepath.Dir(dir), p)
		found = append(found, fmt.Sprintf("%s %o", rel, fi.Mode().Perm()))
		want := os.FileMode(0o600)
		if d.IsDir() {
			want = 0o700
		}
		if fi.Mode().Perm() != want {
			t.Errorf("%s has mode %o, want %o", p, fi.Mode().Perm(), want)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	record(t, "modes under a data dir the gateway created (umask %s): %s", umask(), strings.Join(found, ", "))
}

func umask() string {
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return "?"
	}
	for _, l := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(l, "Umask:"); ok {
			return strings.TrimSpace(v)
		}
	}
	return "?"
}

func x509ParsePEM(b []byte) (*x509.Certificate, error) {
	block, _ := pemDecode(b)
	return x509.ParseCertificate(block)
}
