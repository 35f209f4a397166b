// Package datadir locates lambdagate's data directory, where the embedded
// store keeps its database file.
package datadir

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
)

// DBFile is the name of the embedded store's database inside the data
// directory.
const DBFile = "lambdagate.db"

// EnvVar overrides the data directory when no flag is given.
const EnvVar = "LAMBDAGATE_DATA_DIR"

// Resolve returns the data directory: flagValue when non-empty, else
// $LAMBDAGATE_DATA_DIR, else $XDG_DATA_HOME/lambdagate, else
// ~/.local/share/lambdagate. The result is absolute and cleaned, so the CLI
// and the server agree on one path whatever their working directories.
func Resolve(flagValue string) (string, error) {
	dir := flagValue
	if dir == "" {
		dir = os.Getenv(EnvVar)
	}
	if dir == "" {
		// XDG says a relative XDG_DATA_HOME is invalid and must be ignored.
		if x := os.Getenv("XDG_DATA_HOME"); x != "" && filepath.IsAbs(x) {
			dir = filepath.Join(x, "lambdagate")
		}
	}
	if dir == "" {
		home, err := os.UserHomeDir()
		if err != nil {
			return "", fmt.Errorf("finding the data directory: no --data-dir, $%s or $XDG_DATA_HOME set and no home directory: %w", EnvVar, err)
		}
		dir = filepath.Join(home, ".local", "share", "lambdagate")
	}
	abs, err := filepath.Abs(dir)
	if err != nil {
		return "", fmt.Errorf("resolving data directory %q: %w", dir, err)
	}
	return abs, nil
}

// Ensure creates dir (and missing parents) with mode 0700, since the
// database holds secrets. An existing directory is left as it is.
func Ensure(dir string) error {
	fi, err := os.Stat(dir)
	if err == nil {
		if !fi.IsDir() {
			return fmt.Errorf("data directory %s exists but is not a directory", dir)
		}
		return nil
	}
	if !errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("checking data directory %s: %w", dir, err)
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return fmt.Errorf("creating data directory %s: %w", dir, err)
	}
	// MkdirAll is subject to the umask; 0700 only narrows, but chmod makes the
	// mode exact whatever the umask.
	if err := os.Chmod(dir, 0o700); err != nil {
		return fmt.Errorf("setting mode 0700 on data directory %s: %w", dir, err)
	}
	return nil
}
