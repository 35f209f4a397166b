package server

import (
	"slices"
	"strings"
	"testing"
)

func TestActivationRoles(t *testing.T) {
	const pid = 4242
	tests := []struct {
		name, fds, listenPID, names string
		want                        []string // nil: no inherited sockets
		err                         string
	}{
		{name: "unset", want: nil},
		{name: "one fd, pid unset", fds: "1", want: []string{"http"}},
		{name: "one fd, our pid", fds: "1", listenPID: "4242", want: []string{"http"}},
		{name: "another process's fds", fds: "1", listenPID: "7", want: nil},
		{name: "positional", fds: "3", want: []string{"http", "https", "admin"}},
		{name: "more fds than roles", fds: "4", want: []string{"http", "https", "admin", ""}},
		{name: "systemd default names are positional", fds: "2", names: "lambdagate.socket:lambdagate.socket", want: []string{"http", "https"}},
		{name: "named", fds: "3", names: "admin:other:http", want: []string{"admin", "", "http"}},
		{name: "bad count", fds: "x", err: "LISTEN_FDS"},
		{name: "zero", fds: "0", err: "LISTEN_FDS"},
		{name: "bad pid", fds: "1", listenPID: "me", err: "LISTEN_PID"},
		{name: "names mismatch count", fds: "2", names: "http", err: "LISTEN_FDNAMES"},
		{name: "duplicate name", fds: "2", names: "http:http", err: "twice"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := activationRoles(tt.fds, tt.listenPID, tt.names, pid)
			if tt.err != "" {
				if err == nil || !strings.Contains(err.Error(), tt.err) {
					t.Fatalf("error %v, want one naming %s", err, tt.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(got, tt.want) || (got == nil) != (tt.want == nil) {
				t.Fatalf("roles %q, want %q", got, tt.want)
			}
		})
	}
}
