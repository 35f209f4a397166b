package discovery_test

import (
	"maps"
	"reflect"
	"slices"
	"sort"
	"strings"
	"testing"

	gloo "github.com/lambdagate/lambdagate/api/gloo/v1"
	"github.com/lambdagate/lambdagate/internal/discovery"
)

func names(ns ...string) map[string]bool {
	m := map[string]bool{}
	for _, n := range ns {
		m[n] = true
	}
	return m
}

func TestMerge(t *testing.T) {
	echo := fn("echo", "echo", "$LATEST")
	echo1 := fn("echo:1", "echo", "1")
	legacy := fn("legacy", "old-fn", "live")
	tests := []struct {
		name        string
		current     []gloo.LambdaFunctionSpec
		discovered  []gloo.LambdaFunctionSpec
		previous    map[string]bool
		want        []gloo.LambdaFunctionSpec
		wantWritten map[string]bool
	}{
		{
			name:        "discovered only",
			discovered:  []gloo.LambdaFunctionSpec{echo1, echo},
			want:        []gloo.LambdaFunctionSpec{echo, echo1},
			wantWritten: names("echo", "echo:1"),
		},
		{
			name:        "nothing anywhere",
			want:        []gloo.LambdaFunctionSpec{},
			wantWritten: names(),
		},
		{
			name:        "hand-written entry kept",
			current:     []gloo.LambdaFunctionSpec{legacy},
			discovered:  []gloo.LambdaFunctionSpec{echo},
			want:        []gloo.LambdaFunctionSpec{echo, legacy},
			wantWritten: names("echo"),
		},
		{
			name:        "hand-written entry kept when previous discovered entries exist",
			current:     []gloo.LambdaFunctionSpec{echo, legacy},
			discovered:  []gloo.LambdaFunctionSpec{echo},
			previous:    names("echo"),
			want:        []gloo.LambdaFunctionSpec{echo, legacy},
			wantWritten: names("echo"),
		},
		{
			name:        "hand-written entry wins over a discovered one of the same logical name",
			current:     []gloo.LambdaFunctionSpec{fn("echo", "other-fn", "live")},
			discovered:  []gloo.LambdaFunctionSpec{echo, echo1},
			want:        []gloo.LambdaFunctionSpec{fn("echo", "other-fn", "live"), echo1},
			wantWritten: names("echo:1"),
		},
		{
			name:        "hand-written entry identical to the discovered one stays hand-written",
			current:     []gloo.LambdaFunctionSpec{echo},
			discovered:  []gloo.LambdaFunctionSpec{echo},
			want:        []gloo.LambdaFunctionSpec{echo},
			wantWritten: names(),
		},
		{
			name:        "hand-written entry kept when its function is not in Lambda",
			current:     []gloo.LambdaFunctionSpec{legacy},
			want:        []gloo.LambdaFunctionSpec{legacy},
			wantWritten: names(),
		},
		{
			name:        "discovered entry unchanged stays discovered",
			current:     []gloo.LambdaFunctionSpec{echo, echo1},
			discovered:  []gloo.LambdaFunctionSpec{echo, echo1},
			previous:    names("echo", "echo:1"),
			want:        []gloo.LambdaFunctionSpec{echo, echo1},
			wantWritten: names("echo", "echo:1"),
		},
		{
			name:        "discovered entry whose function disappeared is dropped",
			current:     []gloo.LambdaFunctionSpec{echo, echo1, fn("gone", "gone", "$LATEST")},
			discovered:  []gloo.LambdaFunctionSpec{echo},
			previous:    names("echo", "echo:1", "gone"),
			want:        []gloo.LambdaFunctionSpec{echo},
			wantWritten: names("echo"),
		},
		{
			name:        "discovered entry edited by the user is kept as edited",
			current:     []gloo.LambdaFunctionSpec{fn("echo", "echo", "1"), echo1},
			discovered:  []gloo.LambdaFunctionSpec{echo, echo1},
			previous:    names("echo", "echo:1"),
			want:        []gloo.LambdaFunctionSpec{fn("echo", "echo", "1"), echo1},
			wantWritten: names("echo:1"),
		},
		{
			// The edit points at another function: it is the user's entry
			// now, and the original function disappearing must not drop it.
			// A discovered entry always has the form {name[:q], name, q}, so
			// an entry of another form was edited even when its function is
			// gone.
			name:        "discovered entry edited by the user is kept after its original function disappears",
			current:     []gloo.LambdaFunctionSpec{fn("echo", "echo-v2", "$LATEST")},
			discovered:  []gloo.LambdaFunctionSpec{},
			previous:    names("echo"),
			want:        []gloo.LambdaFunctionSpec{fn("echo", "echo-v2", "$LATEST")},
			wantWritten: names(),
		},
		{
			// Only names are remembered, so a discovered entry the user
			// deleted comes back (as in Gloo); opting out is the label.
			name:        "discovered entry deleted by the user comes back",
			discovered:  []gloo.LambdaFunctionSpec{echo},
			previous:    names("echo"),
			want:        []gloo.LambdaFunctionSpec{echo},
			wantWritten: names("echo"),
		},
		{
			name:        "sorted by logical name",
			current:     []gloo.LambdaFunctionSpec{fn("zeta", "z", ""), fn("alpha", "a", "")},
			discovered:  []gloo.LambdaFunctionSpec{fn("mid", "mid", "$LATEST"), fn("beta", "beta", "$LATEST"), fn("beta:prod", "beta", "prod")},
			want:        []gloo.LambdaFunctionSpec{fn("alpha", "a", ""), fn("beta", "beta", "$LATEST"), fn("beta:prod", "beta", "prod"), fn("mid", "mid", "$LATEST"), fn("zeta", "z", "")},
			wantWritten: names("beta", "beta:prod", "mid"),
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			cur := slices.Clone(tc.current)
			got, written := discovery.Merge(tc.current, tc.discovered, tc.previous)
			if got == nil {
				t.Errorf("Merge returned a nil list; want an empty one")
			}
			if !reflect.DeepEqual(got, tc.want) {
				t.Errorf("merged:\n got  %v\n want %v", got, tc.want)
			}
			if !maps.Equal(written, tc.wantWritten) {
				t.Errorf("written: got %v, want %v", written, tc.wantWritten)
			}
			if !reflect.DeepEqual(cur, tc.current) {
				t.Errorf("Merge changed its input: %v, was %v", tc.current, cur)
			}
		})
	}
}

// parseEntries reads "logical/name/qualifier;..." for the fuzz target.
func parseEntries(s string) []gloo.LambdaFunctionSpec {
	var out []gloo.LambdaFunctionSpec
	for _, e := range strings.Split(s, ";") {
		p := strings.SplitN(e, "/", 3)
		for len(p) < 3 {
			p = append(p, "")
		}
		if p[0] != "" {
			out = append(out, fn(p[0], p[1], p[2]))
		}
	}
	return out
}

// FuzzMerge checks Merge's invariants: output sorted and unique by logical
// name, hand-written entries kept untouched, every discovered name present,
// and written naming exactly the entries taken from discovery.
func FuzzMerge(f *testing.F) {
	f.Add("legacy/old-fn/live", "echo/echo/$LATEST;echo:1/echo/1", "echo")
	f.Add("echo/echo/1;gone/gone/$LATEST", "echo/echo/$LATEST", "echo,gone")
	f.Add("", "a/a/$LATEST;a/a/1", "")
	f.Fuzz(func(t *testing.T, cur, disc, prev string) {
		current, discovered := parseEntries(cur), parseEntries(disc)
		previous := map[string]bool{}
		for _, n := range strings.Split(prev, ",") {
			if n != "" {
				previous[n] = true
			}
		}
		got, written := discovery.Merge(current, discovered, previous)
		if !sort.SliceIsSorted(got, func(i, j int) bool { return got[i].LogicalName < got[j].LogicalName }) {
			t.Fatalf("not sorted: %v", got)
		}
		out := map[string]gloo.LambdaFunctionSpec{}
		for _, g := range got {
			if _, dup := out[g.LogicalName]; dup {
				t.Fatalf("duplicate logical name %q in %v", g.LogicalName, got)
			}
			out[g.LogicalName] = g
		}
		handWritten := map[string]bool{}
		for _, c := range current {
			if !previous[c.LogicalName] {
				handWritten[c.LogicalName] = true
				if g, ok := out[c.LogicalName]; !ok {
					t.Fatalf("hand-written %v dropped: %v", c, got)
				} else if g != c && !duplicated(current, c.LogicalName) {
					t.Fatalf("hand-written %v changed to %v", c, g)
				}
			}
		}
		discByName := map[string]gloo.LambdaFunctionSpec{}
		for _, d := range discovered {
			discByName[d.LogicalName] = d
			if _, ok := out[d.LogicalName]; !ok {
				t.Fatalf("discovered %v missing from %v", d, got)
			}
		}
		for n := range written {
			if handWritten[n] {
				t.Fatalf("hand-written %q recorded as written by discovery", n)
			}
			if _, ok := discByName[n]; !ok {
				t.Fatalf("written names %q, which was not discovered", n)
			}
			if out[n] != discByName[n] && !duplicated(discovered, n) {
				t.Fatalf("written %q but the merged entry %v is not the discovered %v", n, out[n], discByName[n])
			}
		}
	})
}

func duplicated(l []gloo.LambdaFunctionSpec, name string) bool {
	n := 0
	for _, f := range l {
		if f.LogicalName == name {
			n++
		}
	}
	return n > 1
}
