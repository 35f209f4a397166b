package datadir

import (
	"os"
	"path/filepath"
	"testing"
)

func TestResolve(t *testing.T) {
	home := t.TempDir()
	tests := []struct {
		name string
		flag string
		env  string
		xdg  string
		want string
	}{
		{name: "flag wins", flag: "/srv/flag", env: "/srv/env", xdg: "/srv/xdg", want: "/srv/flag"},
		{name: "env over xdg", env: "/srv/env", xdg: "/srv/xdg", want: "/srv/env"},
		{name: "xdg", xdg: "/srv/xdg", want: "/srv/xdg/lambdagate"},
		{name: "relative xdg ignored", xdg: "rel/xdg", want: filepath.Join(home, ".local/share/lambdagate")},
		{name: "home default", want: filepath.Join(home, ".local/share/lambdagate")},
		{name: "flag cleaned", flag: "/srv//a/../b/", want: "/srv/b"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Setenv("HOME", home)
			t.Setenv(EnvVar, tt.env)
			t.Setenv("XDG_DATA_HOME", tt.xdg)
			got, err := Resolve(tt.flag)
			if err != nil {
				t.Fatal(err)
			}
			if got != tt.want {
				t.Errorf("Resolve(%q) = %q, want %q", tt.flag, got, tt.want)
			}
		})
	}
}

func TestResolveRelativeFlagIsAbsolute(t *testing.T) {
	got, err := Resolve("data")
	if err != nil {
		t.Fatal(err)
	}
	if !filepath.IsAbs(got) {
		t.Errorf("Resolve(\"data\") = %q, want an absolute path", got)
	}
}

func TestEnsure(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "a", "b")
	if err := Ensure(dir); err != nil {
		t.Fatal(err)
	}
	fi, err := os.Stat(dir)
	if err != nil {
		t.Fatal(err)
	}
	if got := fi.Mode().Perm(); got != 0o700 {
		t.Errorf("mode = %o, want 700", got)
	}
	// A second call on an existing directory succeeds and leaves it alone.
	if err := Ensure(dir); err != nil {
		t.Fatalf("second Ensure: %v", err)
	}

	file := filepath.Join(t.TempDir(), "f")
	if err := os.WriteFile(file, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := Ensure(file); err == nil {
		t.Error("Ensure on a regular file: want an error")
	}
}
