package pipeline

import "net/http"

// HeaderAdd is one header a headerManipulation adds. Key is canonical.
type HeaderAdd struct {
	Key, Value string
	// Append keeps the values already present; false replaces them.
	Append bool
}

// Headers is a headerManipulation's edit of one header map: removals
// first, then additions, as Envoy applies them.
type Headers struct {
	Remove []string // canonical names
	Add    []HeaderAdd
}

// apply edits h. keepKeys leaves a removed header as a nil value
// instead of deleting it.
func (e *Headers) apply(h http.Header, keepKeys bool) {
	for _, k := range e.Remove {
		if keepKeys {
			h[k] = nil
		} else {
			delete(h, k)
		}
	}
	for _, a := range e.Add {
		if a.Append {
			h[a.Key] = append(h[a.Key], a.Value)
		} else {
			h[a.Key] = []string{a.Value}
		}
	}
}

// RequestHeaders edits the request's headers before the Lambda event is
// built from them.
type RequestHeaders Headers

// FilterRequest applies the edit to r.Header.
func (f *RequestHeaders) FilterRequest(_ http.ResponseWriter, r *http.Request, _ *Exchange) error {
	if r.Header == nil {
		r.Header = http.Header{}
	}
	(*Headers)(f).apply(r.Header, false)
	return nil
}

// ResponseHeaders edits the answer's headers before they are written.
type ResponseHeaders Headers

// FilterResponse applies the edit to h.
func (f *ResponseHeaders) FilterResponse(_ *http.Request, _ *Exchange, status int, h http.Header) (int, error) {
	// A nil value, not a deletion: net/http would otherwise sniff a
	// Content-Type back in.
	(*Headers)(f).apply(h, true)
	return status, nil
}
