package server

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"

	core "github.com/lambdagate/lambdagate/api/core/v1"
	"github.com/lambdagate/lambdagate/internal/gateway/pipeline"
	"github.com/lambdagate/lambdagate/internal/metrics"
	"github.com/lambdagate/lambdagate/internal/resource"
	"github.com/lambdagate/lambdagate/internal/router"
	"github.com/lambdagate/lambdagate/internal/snapshot"
	"github.com/lambdagate/lambdagate/internal/store"
)

// initObservability wires metrics, the access log and spans into the
// gateway.
func (s *Server) initObservability() {
	if s.cfg.Metrics == nil {
		s.cfg.Metrics = metrics.New()
	}
	s.resolver.OnRefresh = s.cfg.Metrics.CredentialRefresh
	s.gateway.Metrics = s.cfg.Metrics
	s.gateway.AccessLog = s.cfg.AccessLog
	s.gateway.Tracer = s.cfg.Tracer
}

// dataHandler is the gateway with the in-flight gauge around it.
func (s *Server) dataHandler() http.Handler {
	m := s.cfg.Metrics
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		m.InFlight(1)
		defer m.InFlight(-1)
		s.gateway.ServeHTTP(w, r)
	})
}

// storedResources lists every readable stored resource, for the config
// dump; the records the store cannot decode are left out (readiness and
// the dump's storeProblem name them).
func (s *Server) storedResources(ctx context.Context) ([]resource.Object, error) {
	var out []resource.Object
	for _, k := range resource.Kinds {
		objs, err := s.store.List(ctx, k, "")
		var ce *store.CorruptError
		if errors.As(err, &ce) {
			err = nil
		}
		if err != nil {
			return nil, fmt.Errorf("listing %s: %w", resource.Plural(k), err)
		}
		out = append(out, objs...)
	}
	return out, nil
}

// observeSnapshot records a newly served snapshot in the metrics.
func (s *Server) observeSnapshot(snap *snapshot.Snapshot) {
	type ks struct{ kind, state string }
	n := map[ks]int{}
	for ref, st := range snap.Statuses {
		kind, _, _ := strings.Cut(ref, " ")
		state := string(st.State)
		if state == "" {
			state = string(core.StateAccepted)
		}
		n[ks{kind, state}]++
	}
	counts := make([]metrics.ResourceCount, 0, len(n))
	for k, v := range n {
		counts = append(counts, metrics.ResourceCount{Kind: k.kind, State: k.state, N: v})
	}
	dropped := 0
	for _, d := range snap.DroppedRoutes {
		dropped += d
	}
	s.cfg.Metrics.SetSnapshot(snap.Version, snap.Built, counts, dropped)
	routes := map[metrics.RouteID]bool{}
	for _, table := range []*router.Table{snap.HTTP, snap.HTTPS} {
		if table == nil {
			continue
		}
		for _, vh := range table.VirtualHosts() {
			for _, rt := range vh.Routes {
				for _, t := range pipeline.Targets(rt) {
					routes[metrics.RouteID{VirtualService: t.VirtualService, Route: t.Route, Function: t.LogicalName}] = true
				}
			}
		}
	}
	s.cfg.Metrics.KeepRoutes(routes)
}
