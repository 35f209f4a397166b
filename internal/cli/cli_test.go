package cli

import (
	"bytes"
	"context"
	"encoding/base64"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	core "github.com/lambdagate/lambdagate/api/core/v1"
	gloo "github.com/lambdagate/lambdagate/api/gloo/v1"
	"github.com/lambdagate/lambdagate/internal/datadir"
	"github.com/lambdagate/lambdagate/internal/resource"
	"github.com/lambdagate/lambdagate/internal/store"
	"github.com/lambdagate/lambdagate/internal/store/sqlite"
)

// runCLI runs lambdagate in-process against dataDir.
func runCLI(t *testing.T, dataDir string, args ...string) (stdout, stderr string, code int) {
	t.Helper()
	var out, errOut bytes.Buffer
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	code = run(ctx, append([]string{"--data-dir", dataDir}, args...), strings.NewReader(""), &out, &errOut)
	return out.String(), errOut.String(), code
}

// TestSecretValuesNeverPrinted checks that the values given to create
// secret aws appear in no default output of get (or of create itself), in
// any encoding a reader could decode.
func TestSecretValuesNeverPrinted(t *testing.T) {
	dir := t.TempDir()
	const (
		accessKey = "AKIAUNIQUEACCESSKEY7"
		secretKey = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYUNIQUESECRET"
		token     = "FwoGZXIvYXdzEUNIQUESESSIONTOKEN"
	)
	var forbidden []string
	for _, v := range []string{accessKey, secretKey, token} {
		forbidden = append(forbidden, v, base64.StdEncoding.EncodeToString([]byte(v)), base64.RawStdEncoding.EncodeToString([]byte(v)))
	}
	check := func(t *testing.T, what, s string) {
		t.Helper()
		for _, f := range forbidden {
			if strings.Contains(s, f) {
				t.Errorf("%s contains the secret value %q:\n%s", what, f, s)
			}
		}
	}

	out, errOut, code := runCLI(t, dir, "-v", "create", "secret", "aws", "--name", "aws-creds",
		"--access-key", accessKey, "--secret-key", secretKey, "--session-token", token)
	if code != 0 {
		t.Fatalf("create secret aws: exit %d\n%s", code, errOut)
	}
	check(t, "create stdout", out)
	check(t, "create stderr", errOut)

	for _, args := range [][]string{
		{"get", "secrets"},
		{"get", "secret", "aws-creds"},
		{"get", "secrets", "-A"},
		{"get", "secrets", "-o", "wide"},
		{"get", "secrets", "-o", "name"},
		{"get", "secrets", "-o", "yaml"},
		{"get", "secrets", "-o", "json"},
		{"get", "secret", "aws-creds", "-o", "yaml"},
		{"get", "secret", "aws-creds", "-o", "json"},
		{"-v", "get", "secret", "aws-creds", "-o", "yaml"},
		{"create", "secret", "aws", "--name", "x", "--access-key", accessKey, "--secret-key", secretKey, "--dry-run", "-o", "yaml"},
		{"create", "secret", "aws", "--name", "aws-creds", "--access-key", accessKey, "--secret-key", secretKey},
	} {
		t.Run(strings.Join(args, "_"), func(t *testing.T) {
			out, errOut, _ := runCLI(t, dir, args...)
			if out == "" && errOut == "" {
				t.Fatalf("no output")
			}
			check(t, "stdout", out)
			check(t, "stderr", errOut)
		})
	}

	// The values are stored, and --show-secrets does print them, so the
	// checks above would have seen them.
	out, _, _ = runCLI(t, dir, "get", "secret", "aws-creds", "-o", "yaml", "--show-secrets")
	if !strings.Contains(out, base64.StdEncoding.EncodeToString([]byte(secretKey))) {
		t.Fatalf("--show-secrets does not show the stored secret key:\n%s", out)
	}
}

// interleavingStore is the real store, with another writer changing the
// object between apply's read and its update: the first `conflicts`
// Update calls are preceded by a competing update of the same object.
type interleavingStore struct {
	store.Store
	conflicts int32
	calls     atomic.Int32
}

func (s *interleavingStore) Update(ctx context.Context, obj resource.Object) (resource.Object, error) {
	if n := s.calls.Add(1); n <= s.conflicts {
		m := obj.GetMetadata()
		cur, err := s.Store.Get(ctx, obj.GetKind(), m.Namespace, m.Name)
		if err != nil {
			return nil, err
		}
		// A new value each time: the store may skip a write that changes nothing.
		cur.GetMetadata().Labels = map[string]string{"other-writer": strconv.Itoa(int(n))}
		if _, err := s.Store.Update(ctx, cur); err != nil {
			return nil, err
		}
	}
	return s.Store.Update(ctx, obj)
}

func openTestStore(t *testing.T) store.Store {
	t.Helper()
	st, err := sqlite.Open(filepath.Join(t.TempDir(), datadir.DBFile))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	return st
}

func upstream(name, region string) resource.Object {
	o, _ := resource.New(resource.KindUpstream)
	us := o.(*resource.Upstream)
	us.Metadata = core.ObjectMeta{Name: name, Namespace: core.DefaultNamespace}
	us.Spec.AWS = &gloo.AWSUpstreamSpec{Region: region}
	return o
}

func TestApplyObjectConflicts(t *testing.T) {
	for _, tc := range []struct {
		name      string
		conflicts int32
		want      string
		wantErr   string
	}{
		{name: "NoConflict", conflicts: 0, want: "configured"},
		{name: "RetriesAfterConflict", conflicts: 2, want: "configured"},
		{name: "GivesUp", conflicts: maxApplyAttempts, wantErr: "gave up after 5 attempts"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ctx := context.Background()
			real := openTestStore(t)
			if _, err := real.Create(ctx, upstream("us", "us-east-1")); err != nil {
				t.Fatal(err)
			}
			st := &interleavingStore{Store: real, conflicts: tc.conflicts}
			got, err := applyObject(ctx, st, upstream("us", "eu-west-1"), false)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) || !store.IsConflict(err) {
					t.Fatalf("applyObject() error = %v, want a conflict containing %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("applyObject() error = %v", err)
			}
			if got != tc.want {
				t.Errorf("applyObject() = %q, want %q", got, tc.want)
			}
			stored, err := real.Get(ctx, resource.KindUpstream, core.DefaultNamespace, "us")
			if err != nil {
				t.Fatal(err)
			}
			if r := stored.(*resource.Upstream).Spec.AWS.Region; r != "eu-west-1" {
				t.Errorf("stored region = %q, want eu-west-1", r)
			}
			if n := st.calls.Load(); n != tc.conflicts+1 {
				t.Errorf("Update called %d times, want %d", n, tc.conflicts+1)
			}
		})
	}
}

func TestApplyObjectResults(t *testing.T) {
	ctx := context.Background()
	st := openTestStore(t)
	steps := []struct {
		name   string
		obj    resource.Object
		dryRun bool
		want   string
	}{
		{"CreateDryRun", upstream("a", "us-east-1"), true, "created"},
		{"Create", upstream("a", "us-east-1"), false, "created"},
		{"Same", upstream("a", "us-east-1"), false, "unchanged"},
		{"ChangeDryRun", upstream("a", "us-west-2"), true, "configured"},
		{"Change", upstream("a", "us-west-2"), false, "configured"},
		{"SameAfterChange", upstream("a", "us-west-2"), false, "unchanged"},
	}
	for _, s := range steps {
		t.Run(s.name, func(t *testing.T) {
			got, err := applyObject(ctx, st, s.obj, s.dryRun)
			if err != nil {
				t.Fatal(err)
			}
			if got != s.want {
				t.Errorf("applyObject() = %q, want %q", got, s.want)
			}
		})
	}
	if _, err := st.Get(ctx, resource.KindUpstream, core.DefaultNamespace, "a"); err != nil {
		t.Fatal(err)
	}
}

func TestServeState(t *testing.T) {
	dir := t.TempDir()
	if _, err := ReadServeState(dir); !os.IsNotExist(err) {
		t.Fatalf("ReadServeState(empty dir) error = %v, want not-exist", err)
	}
	want := ServeState{PID: os.Getpid(), HTTPURL: "http://localhost:8080", AdminURL: "http://127.0.0.1:9091"}
	if err := WriteServeState(dir, want); err != nil {
		t.Fatal(err)
	}
	fi, err := os.Stat(ServeStatePath(dir))
	if err != nil {
		t.Fatal(err)
	}
	if mode := fi.Mode().Perm(); mode != 0o600 {
		t.Errorf("serve.json mode = %v, want 0600", mode)
	}
	got, err := ReadServeState(dir)
	if err != nil {
		t.Fatal(err)
	}
	if got != want {
		t.Errorf("ReadServeState() = %+v, want %+v", got, want)
	}
	entries, _ := os.ReadDir(dir)
	if len(entries) != 1 {
		t.Errorf("data dir holds %d files after the write, want only serve.json", len(entries))
	}
	RemoveServeState(dir)
	RemoveServeState(dir) // a second remove is harmless
	if _, err := ReadServeState(dir); !os.IsNotExist(err) {
		t.Fatalf("after RemoveServeState: error = %v, want not-exist", err)
	}
}

func TestProcessAlive(t *testing.T) {
	for _, tc := range []struct {
		name string
		pid  int
		want bool
	}{
		{"Self", os.Getpid(), true},
		{"Zero", 0, false},
		{"Negative", -1, false},
		{"BeyondPidMax", deadPID, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := processAlive(tc.pid); got != tc.want {
				t.Errorf("processAlive(%d) = %v, want %v", tc.pid, got, tc.want)
			}
		})
	}
}

func FuzzParseServeState(f *testing.F) {
	f.Add([]byte(`{"pid":123,"httpURL":"http://localhost:8080","httpsURL":"","adminURL":"http://127.0.0.1:9091"}`))
	f.Add([]byte(`{"pid":-1}`))
	f.Add([]byte(`{"pid":"x"`))
	f.Fuzz(func(t *testing.T, b []byte) {
		s, err := parseServeState(b)
		if err == nil && s.PID <= 0 {
			t.Fatalf("accepted pid %d", s.PID)
		}
	})
}

func TestAge(t *testing.T) {
	now := time.Date(2026, 1, 10, 12, 0, 0, 0, time.UTC)
	for _, tc := range []struct {
		name string
		ago  time.Duration
		want string
	}{
		{"Zero", 0, "0s"},
		{"Future", -time.Minute, "0s"},
		{"Seconds", 45 * time.Second, "45s"},
		{"UnderTwoMinutes", 119 * time.Second, "119s"},
		{"MinutesSeconds", 3*time.Minute + 20*time.Second, "3m20s"},
		{"WholeMinutes", 5 * time.Minute, "5m"},
		{"Minutes", 45 * time.Minute, "45m"},
		{"HoursMinutes", 3*time.Hour + 20*time.Minute, "3h20m"},
		{"Hours", 23 * time.Hour, "23h"},
		{"DaysHours", 3*24*time.Hour + 4*time.Hour, "3d4h"},
		{"Days", 45 * 24 * time.Hour, "45d"},
		{"YearsDays", (2*365 + 30) * 24 * time.Hour, "2y30d"},
		{"Years", 9 * 365 * 24 * time.Hour, "9y"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			created := now.Add(-tc.ago)
			if got := age(&created, now); got != tc.want {
				t.Errorf("age(%v ago) = %q, want %q", tc.ago, got, tc.want)
			}
		})
	}
	if got := age(nil, now); got != "<unknown>" {
		t.Errorf("age(nil) = %q, want <unknown>", got)
	}
}

func TestTypeName(t *testing.T) {
	for _, tc := range []struct {
		kind resource.Kind
		want string
	}{
		{resource.KindUpstream, "upstream.gloo.solo.io"},
		{resource.KindVirtualService, "virtualservice.gateway.solo.io"},
		{resource.KindSecret, "secret"},
		{resource.KindSettings, "settings.gloo.solo.io"},
	} {
		t.Run(string(tc.kind), func(t *testing.T) {
			if got := typeName(tc.kind); got != tc.want {
				t.Errorf("typeName(%s) = %q, want %q", tc.kind, got, tc.want)
			}
		})
	}
}
