package router

import (
	"strings"
	"testing"
)

func TestNormalizePath(t *testing.T) {
	tests := []struct {
		name, in, want string
	}{
		{"empty is root", "", "/"},
		{"root", "/", "/"},
		{"plain path is kept", "/api/v1/users", "/api/v1/users"},
		{"missing leading slash is added", "api/v1", "/api/v1"},
		{"single dot segment", "/a/./b", "/a/b"},
		{"double dot segment", "/a/../admin", "/admin"},
		{"double dot above root stays at root", "/../../x", "/x"},
		{"trailing double dot keeps the slash", "/a/b/..", "/a/"},
		{"trailing single dot keeps the slash", "/a/.", "/a/"},
		{"dots inside names are not segments", "/a.b/..c/d..", "/a.b/..c/d.."},
		{"encoded slash is kept", "/a%2Fb", "/a%2Fb"},
		{"encoded slash with lowercase hex is uppercased", "/a%2fb", "/a%2Fb"},
		{"lowercase hex of a reserved char is uppercased", "/a%3fb%3a", "/a%3Fb%3A"},
		{"unreserved letters and digits are decoded", "/%41%62%63%31", "/Abc1"},
		{"unreserved marks are decoded", "/%2D%2e%5F%7e", "/-._~"},
		{"encoded dots become dot segments", "/a/%2e%2e/admin", "/admin"},
		{"mixed encoded dot segment", "/a/.%2E/admin", "/admin"},
		{"percent sign itself is kept", "/100%25", "/100%25"},
		{"bare percent is escaped", "/a%", "/a%25"},
		{"short escape is escaped", "/a%4", "/a%254"},
		{"non-hex escape is escaped", "/a%zz", "/a%25zz"},
		{"encoded space is kept", "/a%20b", "/a%20b"},
		{"double slashes are kept", "//a//b", "//a//b"},
		{"non-ascii escape uppercased", "/%c3%a9", "/%C3%A9"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := NormalizePath(tc.in); got != tc.want {
				t.Errorf("NormalizePath(%q) = %q, want %q", tc.in, got, tc.want)
			}
		})
	}
}

// FuzzNormalizePath checks the properties routing relies on: the result
// starts with "/", normalizing twice changes nothing (otherwise a path
// could match differently depending on how often it was normalized), no
// dot segment survives, and no escape of an unreserved character or with
// lowercase hex remains.
func FuzzNormalizePath(f *testing.F) {
	for _, s := range []string{"", "/", "a", "/a/../b", "/%2e%2E/x", "/a%2fb", "/%41", "/.%2e", "%", "/a%4", "//..//."} {
		f.Add(s)
	}
	// Found by this fuzzer: a stray "%" followed by an escaped hex digit
	// becomes a new escape once the digit is decoded ("%7%30" -> "%70"),
	// so a second normalization decodes it again; "%2%45" makes "%2E", an
	// encoded dot segment that survives normalization.
	f.Add("%7%30")
	f.Add("/a/%2%45%2%45/admin")
	f.Fuzz(func(t *testing.T, raw string) {
		got := NormalizePath(raw)
		if !strings.HasPrefix(got, "/") {
			t.Fatalf("NormalizePath(%q) = %q: does not start with /", raw, got)
		}
		if again := NormalizePath(got); again != got {
			t.Fatalf("not idempotent: NormalizePath(%q) = %q, NormalizePath(%q) = %q", raw, got, got, again)
		}
		for _, seg := range strings.Split(got[1:], "/") {
			if seg == "." || seg == ".." {
				t.Fatalf("NormalizePath(%q) = %q: dot segment left", raw, got)
			}
		}
		for i := 0; i+2 < len(got); i++ {
			if got[i] != '%' || !ishex(got[i+1]) || !ishex(got[i+2]) {
				continue
			}
			if unreserved(unhex(got[i+1])<<4|unhex(got[i+2])) || got[i+1] != upper(got[i+1]) || got[i+2] != upper(got[i+2]) {
				t.Fatalf("NormalizePath(%q) = %q: escape %q left as is", raw, got, got[i:i+3])
			}
		}
	})
}
