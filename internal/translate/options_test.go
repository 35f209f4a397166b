package translate

import (
	"fmt"
	"sort"
	"strings"

	"github.com/lambdagate/lambdagate/internal/gateway/pipeline"
	"github.com/lambdagate/lambdagate/internal/lambda"
)

// optionsString lists, for the golden files, what withOptions compiled:
// the filters in their order, the rewrite and the retry policy.
func optionsString(p *pipeline.Route) string {
	var s string
	for i, f := range p.Request {
		switch f := f.(type) {
		case *pipeline.FaultDelay:
			s += fmt.Sprintf("\n        request[%d] fault delay %v%% %s", i, f.Percentage, f.Delay)
		case *pipeline.FaultAbort:
			s += fmt.Sprintf("\n        request[%d] fault abort %v%% status=%d", i, f.Percentage, f.Status)
		case pipeline.GzipAcceptEncoding:
			s += fmt.Sprintf("\n        request[%d] gzip: record Accept-Encoding, remove=%v", i, f.Remove)
		}
	}
	for i, f := range p.Response {
		if g, ok := f.(*pipeline.Gzip); ok {
			types := make([]string, 0, len(g.Types))
			for t := range g.Types {
				types = append(types, t)
			}
			sort.Strings(types)
			s += fmt.Sprintf("\n        response[%d] gzip level=%d min=%d disableOnETag=%v types=%s", i, g.Level, g.MinLength, g.DisableOnETag, strings.Join(types, ","))
		}
	}
	if rw := p.Rewrite; rw != nil {
		if rw.Regex != nil {
			s += fmt.Sprintf("\n        rewrite regex=%q substitution=%q", rw.Regex, rw.Substitution)
		} else {
			s += fmt.Sprintf("\n        rewrite prefix=%q", rw.Prefix)
		}
	}
	targets := []*lambda.Target{p.Invoke}
	if p.Weighted != nil {
		targets = p.Weighted.Targets
	}
	for i, t := range targets {
		if t == nil || t.Retry == nil {
			continue
		}
		r := t.Retry
		s += "\n        retries"
		if p.Weighted != nil {
			s += fmt.Sprintf("[destination %d]", i)
		}
		s += fmt.Sprintf(" num=%d perTry=%s backoff=%s..%s notRun=%v lost=%v functionErrors=%v", r.NumRetries, r.PerTryTimeout, r.BaseInterval, r.MaxInterval, r.NotRun, r.Lost, r.FunctionErrors)
	}
	return s
}
