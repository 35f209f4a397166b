package cli

import (
	"bytes"
	"encoding/json"
	"errors"
	"log/slog"
	"strings"
	"testing"
	"time"

	"k8s.io/klog/v2"
)

// TestKlogThroughSlog checks that client-go's klog lines reach the
// command's logger, as JSON when it writes JSON.
func TestKlogThroughSlog(t *testing.T) {
	var buf bytes.Buffer
	routeKlog(slog.New(slog.NewJSONHandler(&buf, nil)))
	klog.InfoS("leader election lost", "lease", "gloo-system/lambdagate-discovery")
	klog.Flush()
	var line map[string]any
	if err := json.Unmarshal(bytes.TrimSpace(buf.Bytes()), &line); err != nil {
		t.Fatalf("klog output is not one JSON line: %v: %q", err, buf.String())
	}
	if line["msg"] != "leader election lost" || line["component"] != "client-go" || line["lease"] != "gloo-system/lambdagate-discovery" {
		t.Errorf("klog line = %v", line)
	}
}

func TestElectionFlagsCheck(t *testing.T) {
	for _, tc := range []struct {
		name    string
		e       electionFlags
		wantErr string // "" means valid
	}{
		{name: "defaults", e: electionFlags{}},
		{name: "short timings", e: electionFlags{leaseDuration: 3 * time.Second, renewDeadline: 2 * time.Second, retryPeriod: 500 * time.Millisecond}},
		{name: "longer lease only", e: electionFlags{leaseDuration: time.Minute}},
		{name: "lease not above default renew", e: electionFlags{leaseDuration: 5 * time.Second}, wantErr: "--leader-lease-duration 5s: must be longer than --leader-renew-deadline (10s)"},
		{name: "lease equal to renew", e: electionFlags{leaseDuration: 2 * time.Second, renewDeadline: 2 * time.Second}, wantErr: "--leader-lease-duration 2s: must be longer"},
		{name: "renew within retry jitter", e: electionFlags{renewDeadline: 2 * time.Second, retryPeriod: 2 * time.Second}, wantErr: "--leader-renew-deadline 2s: must be longer than 1.2 × --leader-retry-period (2s)"},
		{name: "negative", e: electionFlags{retryPeriod: -time.Second}, wantErr: "must be positive"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.e.check()
			if tc.wantErr == "" {
				if err != nil {
					t.Fatalf("check() = %v, want nil", err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
				t.Fatalf("check() = %v, want an error containing %q", err, tc.wantErr)
			}
			var ue *usageError
			if !errors.As(err, &ue) {
				t.Fatalf("check() = %T, want a usage error", err)
			}
		})
	}
}
