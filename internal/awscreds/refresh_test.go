package awscreds

import (
	"context"
	"fmt"
	"path/filepath"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	gloo "github.com/lambdagate/lambdagate/api/gloo/v1"
)

// TestOnRefresh checks the metrics hook sees each retrieval from the
// default chain, and its failure.
func TestOnRefresh(t *testing.T) {
	// Only the environment may supply credentials: no shared files, no
	// instance metadata.
	t.Setenv("AWS_CONFIG_FILE", filepath.Join(t.TempDir(), "none"))
	t.Setenv("AWS_SHARED_CREDENTIALS_FILE", filepath.Join(t.TempDir(), "none"))
	t.Setenv("AWS_EC2_METADATA_DISABLED", "true")
	t.Setenv("AWS_ACCESS_KEY_ID", "AKIDREFRESH")
	t.Setenv("AWS_SECRET_ACCESS_KEY", "secret")
	t.Setenv("AWS_REGION", "us-east-1")

	var got []error
	r := NewResolver()
	r.OnRefresh = func(err error) { got = append(got, err) }
	p, err := r.ForUpstream(&gloo.AWSUpstreamSpec{Region: "us-east-1"}, "gloo-system", nil, &gloo.AWSOptions{EnableCredentialsDiscovery: true})
	if err != nil {
		t.Fatal(err)
	}
	c, err := p.Retrieve(context.Background())
	if err != nil || c.AccessKeyID != "AKIDREFRESH" {
		t.Fatalf("retrieve: %v %q", err, c.AccessKeyID)
	}
	if _, err := p.Retrieve(context.Background()); err != nil {
		t.Fatal(err)
	}
	// Environment credentials never expire, so the cache retrieves once.
	if len(got) != 1 || got[0] != nil {
		t.Fatalf("OnRefresh calls %v, want one successful", got)
	}
}

// TestDueRefreshDoesNotBlockRequests: once a refresh is due, a request
// with credentials still valid gets them at once while the fetch runs in
// the background, however long STS takes; concurrent requests start one
// fetch.
func TestDueRefreshDoesNotBlockRequests(t *testing.T) {
	release := make(chan struct{})
	var calls atomic.Int32
	inner := aws.CredentialsProviderFunc(func(ctx context.Context) (aws.Credentials, error) {
		if calls.Add(1) > 1 {
			select { // STS hangs (retries backing off)
			case <-release:
			case <-ctx.Done():
				return aws.Credentials{}, ctx.Err()
			}
		}
		return aws.Credentials{AccessKeyID: fmt.Sprintf("AKID%d", calls.Load()), SecretAccessKey: "s", CanExpire: true, Expires: time.Now().Add(4 * time.Second)}, nil
	})
	p := New(Options{}).newProvider("test role", inner, 0)
	defer close(release)
	first, err := p.Retrieve(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	// 4 s credentials are due for a refresh after 2 s, valid until 3 s.
	time.Sleep(2200 * time.Millisecond)
	got := make(chan aws.Credentials, 8)
	for range 8 {
		go func() {
			c, _ := p.Retrieve(context.Background())
			got <- c
		}()
	}
	for range 8 {
		select {
		case c := <-got:
			if c.AccessKeyID != first.AccessKeyID {
				t.Fatalf("got %q, want the cached %q", c.AccessKeyID, first.AccessKeyID)
			}
		case <-time.After(5 * time.Second):
			t.Fatal("a request waited for the refresh while the cached credentials were valid")
		}
	}
	deadline := time.Now().Add(5 * time.Second)
	for calls.Load() < 2 && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	if n := calls.Load(); n != 2 {
		t.Fatalf("%d fetches, want the first and one background refresh", n)
	}
}
