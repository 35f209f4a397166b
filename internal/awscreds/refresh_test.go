package awscreds

import (
	"context"
	"path/filepath"
	"testing"

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
