package cli

import (
	"errors"
	"fmt"
	"os"

	"github.com/spf13/cobra"
)

func newProxyCommand(g *globals) *cobra.Command {
	proxy := &cobra.Command{
		Use:   "proxy",
		Short: "Inspect the running gateway",
		Args:  usageArgs(cobra.NoArgs),
		RunE:  func(cmd *cobra.Command, _ []string) error { return cmd.Help() },
	}
	var https bool
	url := &cobra.Command{
		Use:   "url",
		Short: "Print the gateway's URL, as in: curl $(lambdagate proxy url)/",
		Args:  usageArgs(cobra.NoArgs),
		RunE: func(cmd *cobra.Command, _ []string) error {
			u, err := proxyURL(g, https)
			if err != nil {
				return err
			}
			fmt.Fprintln(g.stdout, u)
			return nil
		},
	}
	url.Flags().BoolVar(&https, "https", false, "print the HTTPS URL instead of the HTTP one")
	proxy.AddCommand(url)
	return proxy
}

// proxyURL reads the state file of the running server. A state file whose
// process is gone (the server was killed) counts as not running.
func proxyURL(g *globals, https bool) (string, error) {
	dir, err := g.dataDir()
	if err != nil {
		return "", err
	}
	notRunning := func(why string) error {
		return withHint(fmt.Errorf("lambdagate serve is not running (%s)", why), "lambdagate serve")
	}
	s, err := ReadServeState(dir)
	switch {
	case errors.Is(err, os.ErrNotExist):
		return "", notRunning("no " + ServeStatePath(dir))
	case err != nil:
		return "", notRunning(fmt.Sprintf("%s: %v", ServeStatePath(dir), err))
	case !processAlive(s.PID):
		return "", notRunning(fmt.Sprintf("process %d named in %s has exited", s.PID, ServeStatePath(dir)))
	}
	if https {
		if s.HTTPSURL == "" {
			return "", withHint(errors.New("the running lambdagate serve has no HTTPS listener"), "lambdagate proxy url (without --https), or restart lambdagate serve with HTTPS enabled")
		}
		return s.HTTPSURL, nil
	}
	if s.HTTPURL == "" {
		return "", withHint(errors.New("the running lambdagate serve has no HTTP listener"), "lambdagate proxy url --https")
	}
	return s.HTTPURL, nil
}
