package tracing

import (
	"context"
	"strings"
	"testing"
)

func TestNewValidatesEndpoint(t *testing.T) {
	tests := []struct {
		name, endpoint string
		ok             bool
	}{
		{"http", "http://127.0.0.1:4318", true},
		{"https with path", "https://collector.example/otlp", true},
		{"no scheme", "127.0.0.1:4318", false},
		{"grpc scheme", "grpc://127.0.0.1:4317", false},
		{"empty", "", false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			e, err := New(Options{Endpoint: tc.endpoint})
			if (err == nil) != tc.ok {
				t.Fatalf("New(%q) error %v, want ok=%v", tc.endpoint, err, tc.ok)
			}
			if err != nil {
				if !strings.Contains(err.Error(), "--trace-otlp-endpoint") {
					t.Errorf("error %q does not name the flag", err)
				}
				return
			}
			_ = e.Shutdown(context.Background())
		})
	}
}
