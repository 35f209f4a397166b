package cli

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"syscall"
)

// ServeStateFile is the file in the data directory where a running
// "lambdagate serve" announces its listeners, so "lambdagate proxy url"
// can find them.
const ServeStateFile = "serve.json"

// ServeState is what a running server writes to ServeStateFile.
type ServeState struct {
	// PID of the serving process; readers check it is still alive.
	PID int `json:"pid"`
	// HTTPURL is the gateway's HTTP base URL, e.g. "http://localhost:8080".
	HTTPURL string `json:"httpURL"`
	// HTTPSURL is the HTTPS base URL, or "" when HTTPS is off.
	HTTPSURL string `json:"httpsURL"`
	// AdminURL is the admin/metrics base URL, or "" when off.
	AdminURL string `json:"adminURL"`
}

// ServeStatePath returns the path of ServeStateFile in dir.
func ServeStatePath(dir string) string { return filepath.Join(dir, ServeStateFile) }

// WriteServeState writes s to dir/serve.json with mode 0600, atomically
// (temporary file and rename) so a reader never sees half a file.
func WriteServeState(dir string, s ServeState) error {
	b, err := json.MarshalIndent(s, "", "  ")
	if err != nil {
		return fmt.Errorf("encoding serve state: %w", err)
	}
	f, err := os.CreateTemp(dir, ".serve-*.json")
	if err != nil {
		return fmt.Errorf("writing serve state in %s: %w", dir, err)
	}
	tmp := f.Name()
	defer os.Remove(tmp) // no-op after a successful rename
	// CreateTemp already uses 0600; chmod keeps that true whatever it does
	// in future.
	if err := f.Chmod(0o600); err != nil {
		f.Close()
		return fmt.Errorf("writing serve state %s: %w", tmp, err)
	}
	if _, err := f.Write(append(b, '\n')); err != nil {
		f.Close()
		return fmt.Errorf("writing serve state %s: %w", tmp, err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("writing serve state %s: %w", tmp, err)
	}
	if err := os.Rename(tmp, ServeStatePath(dir)); err != nil {
		return fmt.Errorf("writing serve state: %w", err)
	}
	return nil
}

// RemoveServeState removes dir/serve.json; a missing file is fine. The
// server calls it on shutdown.
func RemoveServeState(dir string) {
	_ = os.Remove(ServeStatePath(dir))
}

// ReadServeState reads dir/serve.json. A missing file gives an error
// matching os.ErrNotExist.
func ReadServeState(dir string) (ServeState, error) {
	b, err := os.ReadFile(ServeStatePath(dir))
	if err != nil {
		return ServeState{}, err
	}
	return parseServeState(b)
}

func parseServeState(b []byte) (ServeState, error) {
	var s ServeState
	if err := json.Unmarshal(b, &s); err != nil {
		return ServeState{}, fmt.Errorf("reading serve state: %w", err)
	}
	if s.PID <= 0 {
		return ServeState{}, fmt.Errorf("reading serve state: pid: invalid value %d: must be a positive process id", s.PID)
	}
	return s, nil
}

// processAlive reports whether pid names a running process. EPERM means it
// exists but belongs to someone else.
func processAlive(pid int) bool {
	if pid <= 0 {
		return false
	}
	err := syscall.Kill(pid, 0)
	return err == nil || errors.Is(err, syscall.EPERM)
}
