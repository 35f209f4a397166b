package cli

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"sigs.k8s.io/yaml"

	"github.com/lambdagate/lambdagate/internal/admin"
)

func newStatusCommand(g *globals) *cobra.Command {
	var output, adminURL string
	cmd := &cobra.Command{
		Use:   "status",
		Short: "Show the running gateway: virtual services, routes, functions, traffic and errors",
		Long: `Show what the dashboard shows, in the terminal: each virtual service with its
routes and functions, their request rate, latency and errors over the last
minute, resources that are not Accepted and why, and the most recent failed
requests. It asks the running "lambdagate serve" (found through the data
directory) on its admin listener.`,
		Example: `  lambdagate status
  lambdagate status -o json`,
		Args: usageArgs(cobra.NoArgs),
		RunE: func(cmd *cobra.Command, _ []string) error {
			switch output {
			case "", "json", "yaml":
			default:
				return &usageError{fmt.Errorf("-o %q: must be json, yaml or left out", output)}
			}
			state := ServeState{AdminURL: adminURL}
			if state.AdminURL == "" {
				var err error
				if state, err = runningServeState(g); err != nil {
					return err
				}
			}
			ov, raw, err := fetchOverview(cmd.Context(), state.AdminURL)
			if err != nil {
				return err
			}
			switch output {
			case "json":
				_, err := g.stdout.Write(raw)
				return err
			case "yaml":
				y, err := yaml.JSONToYAML(raw)
				if err != nil {
					return fmt.Errorf("converting the overview to YAML: %w", err)
				}
				_, err = g.stdout.Write(y)
				return err
			}
			return printOverview(g.stdout, state, ov)
		},
	}
	cmd.Flags().StringVarP(&output, "output", "o", "", "output format: json (the admin API's /api/overview), yaml, or a table when left out")
	_ = cmd.RegisterFlagCompletionFunc("output", cobra.FixedCompletions([]string{"json", "yaml"}, cobra.ShellCompDirectiveNoFileComp))
	cmd.Flags().StringVar(&adminURL, "admin-url", "", "admin URL of the gateway (default: the one the running lambdagate serve recorded in the data directory)")
	return cmd
}

// runningServeState reads the URLs the running server recorded; the admin
// one is always set.
func runningServeState(g *globals) (ServeState, error) {
	dir, err := g.dataDir()
	if err != nil {
		return ServeState{}, err
	}
	notRunning := func(why string) error {
		return withHint(fmt.Errorf("lambdagate serve is not running (%s)", why), "lambdagate serve, or lambdagate status --admin-url http://127.0.0.1:9091")
	}
	s, err := ReadServeState(dir)
	switch {
	case errors.Is(err, os.ErrNotExist):
		return ServeState{}, notRunning("no " + ServeStatePath(dir))
	case err != nil:
		return ServeState{}, notRunning(fmt.Sprintf("%s: %v", ServeStatePath(dir), err))
	case !processAlive(s.PID):
		return ServeState{}, notRunning(fmt.Sprintf("process %d named in %s has exited", s.PID, ServeStatePath(dir)))
	case s.AdminURL == "":
		return ServeState{}, withHint(errors.New("the running lambdagate serve has no admin listener"), "restart lambdagate serve with --admin-addr 127.0.0.1:9091")
	}
	return s, nil
}

func fetchOverview(ctx context.Context, base string) (*admin.Overview, []byte, error) {
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	u := strings.TrimSuffix(base, "/") + "/api/overview"
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return nil, nil, fmt.Errorf("--admin-url %q: %w", base, err)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return nil, nil, withHint(fmt.Errorf("asking the gateway for its status: %w", err), "check that lambdagate serve is running: lambdagate proxy url")
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(io.LimitReader(resp.Body, 64<<20))
	if err != nil {
		return nil, nil, fmt.Errorf("reading %s: %w", u, err)
	}
	if resp.StatusCode != http.StatusOK {
		return nil, nil, fmt.Errorf("GET %s: %s: %s", u, resp.Status, strings.TrimSpace(string(raw)))
	}
	var ov admin.Overview
	if err := json.Unmarshal(raw, &ov); err != nil {
		return nil, nil, fmt.Errorf("decoding %s: %w", u, err)
	}
	return &ov, raw, nil
}

// spark draws the last n values as a unicode sparkline.
func spark(vals []int64, n int) string {
	if len(vals) > n {
		vals = vals[len(vals)-n:]
	}
	const bars = "▁▂▃▄▅▆▇█"
	r := []rune(bars)
	var maxV int64
	for _, v := range vals {
		maxV = max(maxV, v)
	}
	var b strings.Builder
	for _, v := range vals {
		switch {
		case v == 0:
			b.WriteRune(' ')
		case maxV == 0:
			b.WriteRune(r[0])
		default:
			b.WriteRune(r[int(v*int64(len(r)-1)/maxV)])
		}
	}
	return b.String()
}

// printOverview writes the table. The gateway's URLs come from the
// running server's record (unknown with --admin-url alone).
func printOverview(w io.Writer, urls ServeState, ov *admin.Overview) error {
	ready := "ready"
	if !ov.Ready {
		ready = "NOT READY: " + ov.ReadyReason
	}
	built := "no configuration yet"
	if !ov.Built.IsZero() {
		built = fmt.Sprintf("snapshot v%d built %s ago", ov.Version, age(&ov.Built, ov.Now))
	}
	gw := "Gateway"
	for _, u := range []string{urls.HTTPURL, urls.HTTPSURL} {
		if u != "" {
			gw += " " + u
		}
	}
	adminURL := strings.TrimSuffix(urls.AdminURL, "/")
	fmt.Fprintf(w, "%s: %s, %s\n", printable(gw), printable(ready), built)
	fmt.Fprintf(w, "Admin   %s (dashboard: %s/)\n", printable(adminURL), printable(adminURL))
	// Route counters leave unrouted requests out; they are counted apart
	// so that the recent failures listed below add up.
	fmt.Fprintf(w, "Routed requests %d (%.1f/s), errors %d; unrouted requests %d\n\n", ov.Totals.Requests, ov.Totals.RatePerSec, ov.Totals.Errors, ov.Totals.Unrouted)

	t := newTable(w, "VIRTUAL SERVICE", "STATE", "ROUTE", "MATCH", "FUNCTION", "REQ/S", "ERR/S", "LATENCY", "TOTAL", "ERRORS", "LAST 30S")
	for _, vs := range ov.VirtualServices {
		if len(vs.Routes) == 0 {
			t.row(vs.Name, vs.State, "-", "-", "-", "-", "-", "-", "-", "-", "-")
			continue
		}
		for _, r := range vs.Routes {
			fn := r.Upstream + " " + r.Function
			if r.Qualifier != "" {
				fn += ":" + r.Qualifier
			}
			if r.Answer != "" {
				fn = r.Answer // answered by the gateway, no function
			}
			lat := "-"
			if r.Stats.MeanLatencyMs > 0 {
				lat = fmt.Sprintf("%.1fms", r.Stats.MeanLatencyMs)
			}
			t.row(vs.Name, vs.State, r.Name, r.Match, fn, fmt.Sprintf("%.1f", r.Stats.RatePerSec), fmt.Sprintf("%.1f", r.Stats.ErrorRatePerSec),
				lat, fmt.Sprint(r.Stats.Total), fmt.Sprint(r.Stats.TotalErrors), "|"+spark(r.Stats.Requests, 30)+"|")
		}
	}
	if err := t.flush(); err != nil {
		return err
	}
	var problems []admin.ResourceView
	for _, r := range ov.Resources {
		if r.State != "Accepted" {
			problems = append(problems, r)
		}
	}
	for _, vs := range ov.VirtualServices {
		for _, r := range vs.Routes {
			if r.Warning != "" {
				problems = append(problems, admin.ResourceView{Kind: "Route", Name: vs.Name + " " + r.Name, State: "Warning", Reason: r.Warning})
			}
		}
	}
	if len(problems) > 0 {
		fmt.Fprintln(w, "\nResources not Accepted:")
		t := newTable(w, "KIND", "NAME", "STATE", "REASON")
		for _, p := range problems {
			t.row(p.Kind, p.Name, p.State, p.Reason)
		}
		if err := t.flush(); err != nil {
			return err
		}
	} else {
		fmt.Fprintf(w, "\nAll %d resources Accepted.\n", len(ov.Resources))
	}
	if len(ov.RecentErrors) > 0 {
		fmt.Fprintln(w, "\nRecent failed requests, routed or not (newest first):")
		t := newTable(w, "AGE", "STATUS", "CODE", "REQUEST", "ROUTE", "REQUEST ID")
		for i, e := range ov.RecentErrors {
			if i == 10 {
				break
			}
			route := ""
			if e.Route != "" {
				route = e.VirtualService + " " + e.Route
			}
			t.row(age(&e.Time, ov.Now), fmt.Sprint(e.Status), e.Code, e.Method+" "+e.Path, route, e.RequestID)
		}
		return t.flush()
	}
	return nil
}
