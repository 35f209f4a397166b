package cli

import (
	"bytes"
	"errors"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/lambdagate/lambdagate/internal/admin"
	"github.com/lambdagate/lambdagate/internal/metrics"
)

func TestPrintable(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"", ""},
		{"/plain/path?q=1", "/plain/path?q=1"},
		{"\x1b[2J\x1b]0;PWNED\a", `\x1b[2J\x1b]0;PWNED\a`},
		{"a\tb\nc\rd\x00e\x7f", `a\tb\nc\rd\x00e\x7f`},
		{"café ✓ 日本", "café ✓ 日本"},
		{"c1 \u009b31m", `c1 \u009b31m`},
		{"bad \xff\xfe utf8", `bad \xff\xfe utf8`},
	} {
		if got := printable(tc.in); got != tc.want {
			t.Errorf("printable(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}

// terminalSafe fails when out holds a byte that drives a terminal: any
// control character but the newlines between lines, or a C1 control.
func terminalSafe(t *testing.T, what, out string) {
	t.Helper()
	for i, r := range out {
		if (r < 0x20 && r != '\n') || (r >= 0x7f && r < 0xa0) || (r == utf8.RuneError && !strings.HasPrefix(out[i:], "\uFFFD")) {
			t.Errorf("%s prints control character %q at byte %d:\n%s", what, r, i, out)
			return
		}
	}
}

// A client's request path and a function's error message reach "status"
// through the gateway's recent errors; neither may reach the terminal raw.
func TestStatusEscapesControlCharacters(t *testing.T) {
	const evil = "\x1b[2J\x1b]0;PWNED\a"
	now := time.Now()
	ov := &admin.Overview{
		Now: now, Built: now, Version: 3, ReadyReason: "store " + evil,
		VirtualServices: []admin.VirtualServiceView{{Name: "ns/vs" + evil, State: "Accepted", Routes: []admin.RouteView{
			{Name: "routes[0]", Match: "prefix /" + evil, Upstream: "up", Function: "fn", Warning: "Lambda answered 404: " + evil},
		}}},
		Resources: []admin.ResourceView{{Kind: "Upstream", Name: "ns/up", State: "Rejected", Reason: "bad\n" + evil}},
		RecentErrors: []metrics.ErrorEntry{{Time: now, Method: "GET", Path: "/" + evil, Status: 502, Code: "FunctionError" + evil,
			Message: "function failed: " + evil, RequestID: "id" + evil, VirtualService: "ns/vs", Route: "routes[0]"}},
	}
	var b bytes.Buffer
	if err := printOverview(&b, ServeState{HTTPURL: "http://127.0.0.1:8080" + evil, AdminURL: "http://127.0.0.1:9091" + evil}, ov); err != nil {
		t.Fatal(err)
	}
	out := b.String()
	terminalSafe(t, "status", out)
	if !strings.Contains(out, `GET /\x1b[2J\x1b]0;PWNED\a`) {
		t.Errorf("status does not show the escaped path:\n%s", out)
	}
}

// Errors quote manifests and answers from the gateway; their lines stay
// lines, their control characters are escaped.
func TestErrorsEscapeControlCharacters(t *testing.T) {
	var b bytes.Buffer
	printError(&b, nil, withHint(errors.New("line one \x1b[2J\nline two \a"), "fix \x1b]0;x\a"))
	out := b.String()
	terminalSafe(t, "printError", out)
	if want := "Error: line one \\x1b[2J\nline two \\a\nTry: fix \\x1b]0;x\\a\n"; out != want {
		t.Errorf("printError wrote %q, want %q", out, want)
	}
}

func FuzzPrintable(f *testing.F) {
	for _, s := range []string{"", "plain", "\x1b[2J", "a\nb", "\u009b", "\xff", "日本\x07"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		out := printable(s)
		if !utf8.ValidString(out) {
			t.Fatalf("printable(%q) = %q is not UTF-8", s, out)
		}
		for _, r := range out {
			if r < 0x20 || (r >= 0x7f && r < 0xa0) {
				t.Fatalf("printable(%q) = %q keeps control character %U", s, out, r)
			}
		}
		if strings.Contains(s, "\n") != strings.Contains(printableText(s), "\n") {
			t.Fatalf("printableText(%q) lost or added a line", s)
		}
	})
}
