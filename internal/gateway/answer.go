package gateway

import (
	"io"
	"net/http"
	"strconv"

	"github.com/lambdagate/lambdagate/internal/gateway/pipeline"
	"github.com/lambdagate/lambdagate/internal/router"
)

// answerLocally carries out the actions the gateway answers itself, without a
// Lambda call: a direct response or a redirect. The response filters run
// on them as on a function's answer.
func answerLocally(w http.ResponseWriter, r *http.Request, p *pipeline.Route, o *Outcome, scheme, path string, m *router.Matcher) error {
	h := w.Header()
	if d := p.Direct; d != nil {
		if d.Body != "" {
			// Envoy's default for a local reply's body; headerManipulation
			// may replace it.
			h["Content-Type"] = []string{"text/plain"}
		}
		h["Content-Length"] = []string{strconv.Itoa(len(d.Body))}
		o.x.BodySize = len(d.Body)
		if err := writeHead(w, r, p, o, d.Status); err != nil {
			return err
		}
		switch {
		case r.Method == http.MethodHead:
		case o.x.Compressing():
			o.BytesOut = o.x.WriteBody(w, []byte(d.Body))
		default:
			o.BytesOut, _ = io.WriteString(w, d.Body)
		}
		return nil
	}
	rd := p.Redirect
	h["Location"] = []string{rd.Location(scheme, r.Host, path, r.URL.RawQuery, m)}
	h["Content-Length"] = []string{"0"}
	return writeHead(w, r, p, o, rd.Status)
}
