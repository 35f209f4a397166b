package cli

import (
	"encoding/json"
	"fmt"
	"runtime"
	"runtime/debug"

	"github.com/spf13/cobra"
)

// version is set at link time (-ldflags "-X .../internal/cli.version=v1.2.3");
// otherwise the module version from the build info is used.
var version = ""

// commit is set at link time by builds that cannot stamp the VCS revision
// (scripts/build-image.sh: -buildvcs needs a .git directory, a worktree has
// a file); otherwise the build info's vcs.revision is used.
var commit = ""

// versionInfo is what "lambdagate version" prints.
type versionInfo struct {
	Version   string `json:"version"`
	Commit    string `json:"commit"`
	GoVersion string `json:"goVersion"`
}

func buildVersion() versionInfo {
	v := versionInfo{Version: version, Commit: "unknown", GoVersion: runtime.Version()}
	bi, ok := debug.ReadBuildInfo()
	if !ok {
		if v.Version == "" {
			v.Version = "(devel)"
		}
		return v
	}
	if v.Version == "" {
		v.Version = bi.Main.Version
	}
	if v.Version == "" {
		v.Version = "(devel)"
	}
	var rev, modified string
	for _, s := range bi.Settings {
		switch s.Key {
		case "vcs.revision":
			rev = s.Value
		case "vcs.modified":
			modified = s.Value
		}
	}
	if rev == "" {
		rev = commit
	}
	if rev != "" {
		v.Commit = rev
		if modified == "true" {
			v.Commit += "-dirty"
		}
	}
	return v
}

func newVersionCommand(g *globals) *cobra.Command {
	var output string
	cmd := &cobra.Command{
		Use:   "version",
		Short: "Print the version, commit and Go version",
		Args:  usageArgs(cobra.NoArgs),
		RunE: func(cmd *cobra.Command, _ []string) error {
			v := buildVersion()
			switch output {
			case "":
				fmt.Fprintf(g.stdout, "lambdagate %s\ncommit: %s\ngo: %s\n", v.Version, v.Commit, v.GoVersion)
			case "json":
				b, _ := json.MarshalIndent(v, "", "  ")
				fmt.Fprintf(g.stdout, "%s\n", b)
			default:
				return &usageError{fmt.Errorf("--output: unsupported value %q: must be json (or empty for text)", output)}
			}
			return nil
		},
	}
	cmd.Flags().StringVarP(&output, "output", "o", "", "output format: json")
	_ = cmd.RegisterFlagCompletionFunc("output", cobra.FixedCompletions([]string{"json"}, cobra.ShellCompDirectiveNoFileComp))
	return cmd
}
