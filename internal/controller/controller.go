// Package controller turns the store's resources into served snapshots and
// statuses: watch, debounce, translate, swap, write statuses. It keeps the
// last accepted version of each resource (see reconcile.go).
package controller

import (
	"context"
	"log/slog"
	"net/url"
	"sync/atomic"
	"time"

	core "github.com/lambdagate/lambdagate/api/core/v1"
	"github.com/lambdagate/lambdagate/internal/awscreds"
	"github.com/lambdagate/lambdagate/internal/ratelimit"
	"github.com/lambdagate/lambdagate/internal/snapshot"
	"github.com/lambdagate/lambdagate/internal/store"
	"github.com/lambdagate/lambdagate/internal/translate"
)

// Config is the controller's configuration.
type Config struct {
	// Debounce batches bursts of store changes into one rebuild. Required
	// (the server defaults it to 50ms).
	Debounce time.Duration
	// LocalLambda, when set, is the Lambda endpoint of upstreams that set
	// no endpointUrl. Default nil.
	LocalLambda *url.URL
	// Logger is required.
	Logger *slog.Logger
	// RouteWarning and UpstreamWarning are runtime conditions merged into
	// statuses (translate.Statuses): a route's function answering 404, an
	// upstream's failing discovery. Default nil: none.
	RouteWarning    func(vsKey, route string) string
	UpstreamWarning func(upstreamKey string) string
	// RateLimits keeps rate limit state across snapshots (translate.Env).
	// Default nil: each snapshot starts with full buckets.
	RateLimits *ratelimit.Registry
	// OnSnapshot is called with each snapshot before it is served
	// (metrics). Default nil.
	OnSnapshot func(*snapshot.Snapshot)
}

// Controller runs the reconcile loop of one gateway.
type Controller struct {
	cfg      Config
	store    store.Store
	holder   *snapshot.Holder
	resolver *awscreds.Resolver
	log      *slog.Logger

	// configOK is false while the store cannot be read; the last snapshot
	// keeps serving.
	configOK atomic.Bool
	// storeProblem describes unreadable records ("" when none).
	storeProblem atomic.Value
	version      atomic.Uint64
	lastGood     map[string]translate.LastGood
	trigger      chan struct{}
	statusW      *statusWriter // writes statuses off the reconcile loop

	// logged is each resource's last logged configuration change; the
	// reconcile loop owns it, as lastGood.
	logged map[string]change
	// base and inputs are the last rebuild's statuses before runtime
	// conditions and what those merge into; translated is the generation
	// of each resource it translated. The reconcile loop owns them.
	base       map[string]core.Status
	inputs     map[string]*snapshot.StatusInput
	translated map[string]int64
}

// New returns a controller that reads st and serves its snapshots through
// h; res supplies the upstreams' credentials.
func New(cfg Config, st store.Store, h *snapshot.Holder, res *awscreds.Resolver) *Controller {
	s := &Controller{
		cfg:      cfg,
		store:    st,
		holder:   h,
		resolver: res,
		log:      cfg.Logger,
		lastGood: map[string]translate.LastGood{},
		trigger:  make(chan struct{}, 1),
	}
	s.statusW = newStatusWriter(s)
	return s
}

// Run reconciles until ctx is done.
func (s *Controller) Run(ctx context.Context) { s.reconcileLoop(ctx) }

// Trigger says a runtime condition changed: statuses are merged and
// written again soon, without a rebuild.
func (s *Controller) Trigger() {
	select {
	case s.trigger <- struct{}{}:
	default:
	}
}

// ConfigOK reports whether the store could be read at the last attempt.
func (s *Controller) ConfigOK() bool { return s.configOK.Load() }

// StoreProblem names the stored records that cannot be read ("" when all
// can); their last good versions keep serving.
func (s *Controller) StoreProblem() string {
	p, _ := s.storeProblem.Load().(string)
	return p
}
