package pipeline

import (
	"math/rand/v2"
	"net/http"
	"strconv"
	"time"

	"github.com/lambdagate/lambdagate/internal/httperr"
	"github.com/lambdagate/lambdagate/internal/lambda"
)

// FaultDelay is a route's faults.delay: it holds Percentage of the
// requests for Delay before the filters after it run. As Envoy's fault
// filter, it runs before the action, so the delay is not part of the
// route's timeout.
type FaultDelay struct {
	Percentage float64 // 0 to 100
	Delay      time.Duration
}

// FilterRequest waits, or ends the request when the client goes away
// meanwhile.
func (f *FaultDelay) FilterRequest(_ http.ResponseWriter, r *http.Request, _ *Exchange) error {
	if !chosen(f.Percentage) {
		return nil
	}
	t := time.NewTimer(f.Delay)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-r.Context().Done():
		return &lambda.Error{Kind: lambda.KindCanceled, Err: r.Context().Err()}
	}
}

// FaultAbort is a route's faults.abort: it answers Percentage of the
// requests with Status and calls no Lambda.
type FaultAbort struct {
	Percentage float64 // 0 to 100
	Status     int
}

// FilterRequest returns the abort's error (internal/httperr writes it).
func (f *FaultAbort) FilterRequest(_ http.ResponseWriter, _ *http.Request, _ *Exchange) error {
	if !chosen(f.Percentage) {
		return nil
	}
	return httperr.New(f.Status, "FaultInjected", "fault filter abort ("+strconv.Itoa(f.Status)+")")
}

// chosen draws whether a request is among pct percent of them.
func chosen(pct float64) bool {
	return pct >= 100 || pct > 0 && rand.Float64()*100 < pct
}
