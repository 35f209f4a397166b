// Package snapshot holds the immutable routing configuration the data plane
// serves, and the atomic pointer through which it is swapped.
package snapshot

import (
	"crypto/tls"
	"sync/atomic"
	"time"

	core "github.com/lambdagate/lambdagate/api/core/v1"
	"github.com/lambdagate/lambdagate/internal/auth/mtls"
	"github.com/lambdagate/lambdagate/internal/resource"
	"github.com/lambdagate/lambdagate/internal/router"
)

// Snapshot is built once and never modified afterwards.
type Snapshot struct {
	// Version increases with every build.
	Version uint64
	Built   time.Time
	// HTTP serves virtual services without sslConfig, HTTPS those with it.
	HTTP, HTTPS *router.Table
	// Certificates for the HTTPS listener, chosen by SNI.
	Certificates []Certificate
	// Statuses by "Kind namespace/name": what the build found.
	Statuses map[string]core.Status
	// DroppedRoutes counts, per "Kind namespace/name", the routes left out
	// because of errors.
	DroppedRoutes map[string]int
	// Counts for observability.
	Routes, Upstreams int
	// Resources are the versions the snapshot was built from (for a
	// rejected update or an unreadable record, the last good version), so
	// that views of what is served never need the store.
	Resources []resource.Object
	// StatusInputs hold, for each resource translation accepted, what the
	// runtime conditions of its status are merged into
	// (translate.Statuses); Statuses above has none of them.
	StatusInputs map[string]*StatusInput
}

// StatusInput is an accepted resource's status before runtime conditions:
// its warnings in the order translation found them, and what the
// conditions are looked up by.
type StatusInput struct {
	// Warnings, unsorted; a virtual service's are sorted by route when
	// joined.
	Warnings resource.Problems
	// Upstream is an upstream's key ("" for a virtual service); Creds is
	// its credentials provider, asked for a runtime Problem() string.
	Upstream string
	Creds    any
	// VirtualService is a virtual service's key; Routes are its served
	// routes.
	VirtualService string
	Routes         []ServedRoute
}

// ServedRoute is one route a virtual service serves.
type ServedRoute struct {
	Name  string
	Index int
	// Warning is the index in Warnings of the route's own warning, -1 for
	// none: a runtime warning is appended to it.
	Warning int
	// Runtime are the route's filters that can fail while serving; their
	// problems join the route's warning when statuses are merged.
	Runtime []RuntimeProblem
}

// RuntimeProblem is a route filter that can fail while serving (JWT keys
// that cannot be fetched): RuntimeProblem says why, "" while it works.
type RuntimeProblem interface{ RuntimeProblem() string }

// Certificate is one TLS certificate and the names it serves.
type Certificate struct {
	VirtualService string
	Domains        []string
	Cert           *tls.Certificate
	MinVersion     uint16
	MaxVersion     uint16
	// ClientCA, when set, requires a client certificate verified against
	// it (mutual TLS); nil: none is asked for.
	ClientCA *mtls.CA
}

// Holder publishes snapshots. Readers load the pointer once per request,
// so a request finishes on the snapshot it started with.
type Holder struct {
	p atomic.Pointer[Snapshot]
}

// Load returns the current snapshot, or nil before the first build.
func (h *Holder) Load() *Snapshot { return h.p.Load() }

// Store publishes s.
func (h *Holder) Store(s *Snapshot) { h.p.Store(s) }
