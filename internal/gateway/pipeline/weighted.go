package pipeline

import (
	"math/rand/v2"

	"github.com/lambdagate/lambdagate/internal/lambda"
)

// Weighted is the action of a route with weighted destinations
// (routeAction.multi, routeAction.upstreamGroup): each request invokes one
// of Targets, chosen at random in proportion to the weights.
type Weighted struct {
	// Targets are the destinations with a weight above zero, in the
	// order written.
	Targets []*lambda.Target
	// Cumulative[i] is the sum of the weights of Targets[0..i]; the last
	// is the total, above zero.
	Cumulative []uint64
}

// NewWeighted returns the action for targets and their weights, leaving
// out the targets of weight 0. Nil when every weight is 0.
func NewWeighted(targets []*lambda.Target, weights []uint32) *Weighted {
	w := &Weighted{}
	var sum uint64
	for i, t := range targets {
		if weights[i] == 0 {
			continue
		}
		sum += uint64(weights[i])
		w.Targets = append(w.Targets, t)
		w.Cumulative = append(w.Cumulative, sum)
	}
	if sum == 0 {
		return nil
	}
	return w
}

// Pick chooses the target of one request. math/rand/v2's top-level
// functions draw from a per-thread generator of the runtime: no lock, no
// allocation, safe for every request of the route at once. A route has a
// handful of destinations, so a linear scan beats a binary search.
func (w *Weighted) Pick() *lambda.Target {
	n := rand.Uint64N(w.Cumulative[len(w.Cumulative)-1])
	for i, c := range w.Cumulative {
		if n < c {
			return w.Targets[i]
		}
	}
	return w.Targets[len(w.Targets)-1] // unreachable: n < the total
}
