package locallambda

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/google/uuid"
)

const (
	apiPrefix = "/2015-03-31/functions"

	// maxSyncPayload and maxAsyncPayload are AWS's request payload limits
	// (API_Invoke: 6 MB synchronous, 1 MB asynchronous).
	maxSyncPayload  = 6 * 1024 * 1024
	maxAsyncPayload = 1024 * 1024
	maxListPage     = 50
	// asyncRetryWindow bounds how long a throttled Event invocation waits
	// for a free instance before it is dropped (AWS retries for up to six
	// hours; a local service gives up sooner).
	asyncRetryWindow = 5 * time.Minute
)

// apiError is an AWS Lambda API error: X-Amzn-ErrorType plus a JSON body.
type apiError struct {
	status int
	code   string
	msg    string
	reason string // TooManyRequestsException Reason
}

func writeAPIError(w http.ResponseWriter, e *apiError) {
	typ := "User"
	if e.status >= 500 {
		typ = "Service"
	}
	body := map[string]string{"Type": typ, "Message": e.msg}
	if e.reason != "" {
		body["Reason"] = e.reason
	}
	w.Header().Set("X-Amzn-ErrorType", e.code)
	writeJSON(w, e.status, body)
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		status, b = http.StatusInternalServerError, []byte(`{"Type":"Service","Message":"encoding response"}`)
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Content-Length", strconv.Itoa(len(b)))
	w.WriteHeader(status)
	w.Write(b)
}

func notFound(arn string) *apiError {
	return &apiError{status: http.StatusNotFound, code: "ResourceNotFoundException", msg: "Function not found: " + arn}
}

func invalidParam(format string, args ...any) *apiError {
	return &apiError{status: http.StatusBadRequest, code: "InvalidParameterValueException", msg: fmt.Sprintf(format, args...)}
}

// serveAPI authenticates and routes one Lambda API request.
func (s *Server) serveAPI(w http.ResponseWriter, r *http.Request) {
	if s.isSTSRequest(r) {
		s.serveSTS(w, r)
		return
	}
	w.Header().Set("X-Amzn-RequestId", uuid.NewString())
	segs, ok := splitAPIPath(r.URL.EscapedPath())
	streaming := false
	if !ok {
		segs, ok = splitPrefixed(streamAPIPrefix, r.URL.EscapedPath())
		streaming = ok
	}
	if !ok {
		writeAPIError(w, &apiError{status: http.StatusNotFound, code: "UnknownOperationException", msg: "Unknown operation " + r.Method + " " + r.URL.Path})
		return
	}
	// Read one byte past the largest payload to tell "too large" apart.
	body, err := io.ReadAll(io.LimitReader(r.Body, maxSyncPayload+1))
	if err != nil {
		writeAPIError(w, &apiError{status: http.StatusBadRequest, code: "InvalidRequestContentException", msg: "reading request body: " + err.Error()})
		return
	}
	if len(body) > maxSyncPayload {
		writeAPIError(w, &apiError{status: http.StatusRequestEntityTooLarge, code: "RequestEntityTooLargeException", msg: fmt.Sprintf("Request must be smaller than %d bytes for the InvokeFunction operation", maxSyncPayload)})
		return
	}
	if aerr := s.authenticate(r, body, time.Now()); aerr != nil {
		writeAPIError(w, &apiError{status: aerr.status, code: aerr.code, msg: aerr.msg})
		return
	}

	var aerr *apiError
	switch {
	case streaming && len(segs) == 2 && segs[1] == "response-streaming-invocations" && r.Method == http.MethodPost:
		aerr = s.invokeStream(w, r, segs[0], body)
	case streaming:
		aerr = &apiError{status: http.StatusNotFound, code: "UnknownOperationException", msg: "Unknown operation " + r.Method + " " + r.URL.Path}
	case len(segs) == 0 && r.Method == http.MethodGet:
		aerr = s.listFunctions(w, r)
	case len(segs) == 1 && r.Method == http.MethodGet:
		aerr = s.getFunction(w, r, segs[0], false)
	case len(segs) == 2 && segs[1] == "configuration" && r.Method == http.MethodGet:
		aerr = s.getFunction(w, r, segs[0], true)
	case len(segs) == 2 && segs[1] == "invocations" && r.Method == http.MethodPost:
		aerr = s.invoke(w, r, segs[0], body)
	case len(segs) == 2 && segs[1] == "versions" && r.Method == http.MethodGet:
		aerr = s.listVersions(w, r, segs[0])
	case len(segs) == 2 && segs[1] == "aliases" && r.Method == http.MethodGet:
		aerr = s.listAliases(w, r, segs[0])
	case len(segs) == 3 && segs[1] == "aliases" && r.Method == http.MethodGet:
		aerr = s.getAlias(w, segs[0], segs[2])
	default:
		aerr = &apiError{status: http.StatusNotFound, code: "UnknownOperationException", msg: "Unknown operation " + r.Method + " " + r.URL.Path}
	}
	if aerr != nil {
		writeAPIError(w, aerr)
	}
}

// splitAPIPath returns the unescaped segments after /2015-03-31/functions.
// Segments are split on the escaped path so an escaped '/' or ':' inside a
// function reference stays in its segment.
func splitAPIPath(escaped string) ([]string, bool) {
	return splitPrefixed(apiPrefix, escaped)
}

// splitPrefixed is splitAPIPath for the API version prefix given.
func splitPrefixed(prefix, escaped string) ([]string, bool) {
	rest, ok := strings.CutPrefix(escaped, prefix)
	if !ok || (rest != "" && rest[0] != '/') {
		return nil, false
	}
	rest = strings.Trim(rest, "/")
	if rest == "" {
		return nil, true
	}
	parts := strings.Split(rest, "/")
	for i, p := range parts {
		u, err := url.PathUnescape(p)
		if err != nil || u == "" {
			return nil, false
		}
		parts[i] = u
	}
	return parts, true
}

// lookup resolves a FunctionName path value plus optional Qualifier to a
// function and version.
func (s *Server) lookup(raw, qualifier string) (*function, string, functionRef, *apiError) {
	ref, err := parseFunctionRef(raw)
	if err != nil {
		return nil, "", ref, invalidParam("%s", err.Error())
	}
	if qualifier != "" {
		if ref.Qualifier != "" && ref.Qualifier != qualifier {
			return nil, "", ref, invalidParam("The derived qualifier from the function name does not match the specified qualifier.")
		}
		ref.Qualifier = qualifier
	}
	cat := s.catalog.Load()
	fn := cat.byName[ref.Name]
	if fn == nil {
		nf := notFound(s.functionARN(ref.Name, ref.Qualifier))
		// A folder that is there but refused says why, where the caller looks.
		if perr := cat.problems[ref.Name]; perr != nil {
			nf.msg += fmt.Sprintf(" (folder %q is not served: %v)", ref.Name, perr)
		}
		return nil, "", ref, nf
	}
	version, ok := fn.resolveQualifier(ref.Qualifier)
	if !ok {
		return nil, "", ref, notFound(s.functionARN(ref.Name, ref.Qualifier))
	}
	return fn, version, ref, nil
}

func (s *Server) invoke(w http.ResponseWriter, r *http.Request, raw string, body []byte) *apiError {
	fn, version, invType, inv, aerr := s.prepareInvoke(r, raw, body, "RequestResponse", "Event", "DryRun")
	if aerr != nil {
		return aerr
	}
	logType := r.Header.Get("X-Amz-Log-Type")
	if invType == "DryRun" {
		w.WriteHeader(http.StatusNoContent)
		return nil
	}
	// AWS answers with the request ID the function sees as awsRequestId.
	w.Header().Set("X-Amzn-RequestId", inv.id)

	if invType == "Event" {
		// Add under srvMu so it never races Close's Wait.
		s.srvMu.Lock()
		if s.ctx.Err() != nil {
			s.srvMu.Unlock()
			return &apiError{status: http.StatusServiceUnavailable, code: "ServiceException", msg: "local lambda service is shutting down"}
		}
		s.wg.Add(1)
		s.srvMu.Unlock()
		go s.runAsync(fn, version, inv)
		w.Header().Set("X-Amz-Executed-Version", version)
		w.WriteHeader(http.StatusAccepted)
		return nil
	}

	switch s.pool.reserve(fn) {
	case refusedThrottled:
		return throttled(fn)
	case refusedClosed:
		return &apiError{status: http.StatusServiceUnavailable, code: "ServiceException", msg: "local lambda service is shutting down"}
	}
	res := s.run(fn, version, inv)
	h := w.Header()
	h.Set("X-Amz-Executed-Version", version)
	if res.functionError != "" {
		h.Set("X-Amz-Function-Error", res.functionError)
	}
	if logType == "Tail" {
		h.Set("X-Amz-Log-Result", inv.logs.tailBase64())
	}
	h.Set("Content-Type", "application/json")
	w.WriteHeader(http.StatusOK)
	w.Write(res.payload)
	return nil
}

// prepareInvoke checks what Invoke and InvokeWithResponseStream share: the
// function reference, the invocation and log types (invTypes lists those
// the operation accepts), the payload and the client context. It returns the
// invocation to run.
func (s *Server) prepareInvoke(r *http.Request, raw string, body []byte, invTypes ...string) (*function, string, string, *invocation, *apiError) {
	fn, version, ref, aerr := s.lookup(raw, r.URL.Query().Get("Qualifier"))
	if aerr != nil {
		return nil, "", "", nil, aerr
	}
	invType := r.Header.Get("X-Amz-Invocation-Type")
	if invType == "" {
		invType = "RequestResponse"
	}
	if !slices.Contains(invTypes, invType) {
		return nil, "", "", nil, invalidParam("X-Amz-Invocation-Type %q: allowed values are %s", invType, strings.Join(invTypes, ", "))
	}
	logType := r.Header.Get("X-Amz-Log-Type")
	if logType != "" && logType != "None" && logType != "Tail" {
		return nil, "", "", nil, invalidParam("X-Amz-Log-Type %q: allowed values are None, Tail", logType)
	}
	if invType == "Event" && len(body) > maxAsyncPayload {
		return nil, "", "", nil, &apiError{status: http.StatusRequestEntityTooLarge, code: "RequestEntityTooLargeException", msg: fmt.Sprintf("%d byte payload is too large for the Event invocation type (limit %d bytes)", len(body), maxAsyncPayload)}
	}
	// An empty payload reaches the function as {}, as the AWS CLI and SDKs
	// observe when Payload is omitted.
	if len(strings.TrimSpace(string(body))) == 0 {
		body = []byte("{}")
	} else if !json.Valid(body) {
		var v any
		err := json.Unmarshal(body, &v)
		return nil, "", "", nil, &apiError{status: http.StatusBadRequest, code: "InvalidRequestContentException", msg: "Could not parse request body into json: " + err.Error()}
	}
	var clientContext string
	if cc := r.Header.Get("X-Amz-Client-Context"); cc != "" {
		b, err := base64.StdEncoding.DecodeString(cc)
		if err != nil || !json.Valid(b) {
			return nil, "", "", nil, &apiError{status: http.StatusBadRequest, code: "InvalidRequestContentException", msg: "Client context must be a valid Base64-encoded JSON object."}
		}
		clientContext = string(b)
	}
	inv := newInvocation(body, s.functionARN(fn.Name, ref.Qualifier), version)
	inv.clientContext = clientContext
	return fn, version, invType, inv, nil
}

func throttled(fn *function) *apiError {
	reason := "ConcurrentInvocationLimitExceeded"
	if fn.Reserved != nil {
		reason = "ReservedFunctionConcurrentInvocationLimitExceeded"
	}
	return &apiError{status: http.StatusTooManyRequests, code: "TooManyRequestsException", msg: "Rate Exceeded.", reason: reason}
}

// run invokes inv on an instance of fn; the caller holds a slot, which run
// releases.
func (s *Server) run(fn *function, version string, inv *invocation) invokeResult {
	in, _, err := s.pool.take(s.ctx, fn, version)
	if err != nil {
		s.pool.release(fn, nil)
		s.log.Warn("starting function instance", "function", fn.Name, "error", err)
		inv.logs.printf("START RequestId: %s Version: %s\n%s\nEND RequestId: %s\n", inv.id, version, err, inv.id)
		return functionErrorResult("Runtime.InvalidEntrypoint", fmt.Sprintf("RequestId: %s Error: %v", inv.id, err))
	}
	res := in.invoke(s.ctx, inv)
	s.pool.release(fn, in)
	if res.functionError != "" {
		s.log.Debug("function error", "function", fn.Name, "requestId", inv.id, "errorType", res.errorType)
	}
	return res
}

// runAsync runs an Event invocation, waiting for a free slot while the
// function is at its concurrency limit.
func (s *Server) runAsync(fn *function, version string, inv *invocation) {
	defer s.wg.Done()
	deadline := time.Now().Add(asyncRetryWindow)
	backoff := 50 * time.Millisecond
	for {
		switch s.pool.reserve(fn) {
		case refusedNone:
			s.run(fn, version, inv)
			return
		case refusedClosed:
			return
		}
		if time.Now().After(deadline) {
			s.log.Warn("dropping throttled event invocation", "function", fn.Name, "requestId", inv.id)
			return
		}
		select {
		case <-s.ctx.Done():
			return
		case <-time.After(backoff):
		}
		backoff = min(backoff*2, 2*time.Second)
	}
}

// functionConfiguration is the FunctionConfiguration shape of the API.
type functionConfiguration struct {
	FunctionName     string            `json:"FunctionName"`
	FunctionArn      string            `json:"FunctionArn"`
	Runtime          string            `json:"Runtime"`
	Role             string            `json:"Role"`
	Handler          string            `json:"Handler"`
	CodeSize         int64             `json:"CodeSize"`
	Description      string            `json:"Description"`
	Timeout          int               `json:"Timeout"`
	MemorySize       int               `json:"MemorySize"`
	LastModified     string            `json:"LastModified"`
	CodeSha256       string            `json:"CodeSha256"`
	Version          string            `json:"Version"`
	Environment      *environment      `json:"Environment,omitempty"`
	TracingConfig    map[string]string `json:"TracingConfig"`
	RevisionId       string            `json:"RevisionId"`
	State            string            `json:"State"`
	LastUpdateStatus string            `json:"LastUpdateStatus"`
	PackageType      string            `json:"PackageType"`
	Architectures    []string          `json:"Architectures"`
	EphemeralStorage map[string]int    `json:"EphemeralStorage"`
	LoggingConfig    map[string]string `json:"LoggingConfig"`
}

type environment struct {
	Variables map[string]string `json:"Variables"`
}

// runtimeID is the Runtime value reported for fn.
func runtimeID(fn *function) string {
	if fn.Runtime == RuntimeNode {
		return "nodejs20.x"
	}
	return "provided.al2023"
}

func (s *Server) configuration(fn *function, version string) functionConfiguration {
	arn := s.functionARN(fn.Name, "")
	desc := fn.Description
	if version != versionLatest {
		arn = s.functionARN(fn.Name, version)
		for _, v := range fn.Versions {
			if strconv.Itoa(v.Version) == version && v.Description != "" {
				desc = v.Description
			}
		}
	}
	c := functionConfiguration{
		FunctionName:     fn.Name,
		FunctionArn:      arn,
		Runtime:          runtimeID(fn),
		Role:             "arn:aws:iam::" + s.opts.AccountID + ":role/lambda-role",
		Handler:          fn.Handler,
		CodeSize:         fn.CodeSize,
		Description:      desc,
		Timeout:          int(fn.Timeout / time.Second),
		MemorySize:       fn.MemoryMB,
		LastModified:     fn.Modified.UTC().Format("2006-01-02T15:04:05.000-0700"),
		CodeSha256:       fn.CodeSHA256,
		Version:          version,
		TracingConfig:    map[string]string{"Mode": "PassThrough"},
		RevisionId:       revisionID(fn.fingerprint, version),
		State:            "Active",
		LastUpdateStatus: "Successful",
		PackageType:      "Zip",
		Architectures:    []string{"x86_64"},
		EphemeralStorage: map[string]int{"Size": 512},
		LoggingConfig:    map[string]string{"LogFormat": "Text", "LogGroup": "/aws/lambda/" + fn.Name},
	}
	if len(fn.Environment) > 0 {
		c.Environment = &environment{Variables: fn.Environment}
	}
	return c
}

// revisionID derives a stable UUID-shaped revision from the code
// fingerprint, so it changes exactly when the code does.
func revisionID(fingerprint, version string) string {
	return uuid.NewSHA1(uuid.NameSpaceURL, []byte(fingerprint+"/"+version)).String()
}

func (s *Server) getFunction(w http.ResponseWriter, r *http.Request, raw string, configOnly bool) *apiError {
	fn, version, _, aerr := s.lookup(raw, r.URL.Query().Get("Qualifier"))
	if aerr != nil {
		return aerr
	}
	cfg := s.configuration(fn, version)
	if configOnly {
		writeJSON(w, http.StatusOK, cfg)
		return nil
	}
	out := map[string]any{
		"Configuration": cfg,
		"Code":          map[string]string{"RepositoryType": "S3", "Location": (&url.URL{Scheme: "file", Path: fn.Dir}).String()},
		"Tags":          map[string]string{},
	}
	if fn.Reserved != nil {
		out["Concurrency"] = map[string]int{"ReservedConcurrentExecutions": *fn.Reserved}
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}

// page is the shared Marker/MaxItems pagination over items sorted by key.
// The marker is the base64url of the last key returned, so a page boundary
// survives functions appearing or disappearing between calls.
func page[T any](q url.Values, items []T, key func(T) string) ([]T, string, *apiError) {
	size := maxListPage
	if v := q.Get("MaxItems"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > 10000 {
			return nil, "", invalidParam("MaxItems %q: must be an integer between 1 and 10000", v)
		}
		size = min(n, maxListPage)
	}
	start := 0
	if m := q.Get("Marker"); m != "" {
		b, err := base64.RawURLEncoding.DecodeString(m)
		if err != nil || len(b) == 0 {
			return nil, "", invalidParam("Marker %q: not a marker returned by this service", m)
		}
		after := string(b)
		start = sort.Search(len(items), func(i int) bool { return key(items[i]) > after })
	}
	end := min(start+size, len(items))
	var next string
	if end < len(items) {
		next = base64.RawURLEncoding.EncodeToString([]byte(key(items[end-1])))
	}
	return items[start:end], next, nil
}

// versionKey sorts $LATEST before published versions, numerically.
func versionKey(name, version string) string {
	n := 0
	if version != versionLatest {
		n, _ = strconv.Atoi(version)
	}
	return fmt.Sprintf("%s\x00%010d", name, n)
}

func (s *Server) listFunctions(w http.ResponseWriter, r *http.Request) *apiError {
	q := r.URL.Query()
	all := false
	switch v := q.Get("FunctionVersion"); v {
	case "":
	case "ALL":
		all = true
	default:
		return invalidParam("FunctionVersion %q: the only allowed value is ALL", v)
	}
	cat := s.catalog.Load()
	var items []functionConfiguration
	for _, name := range cat.names {
		fn := cat.byName[name]
		items = append(items, s.configuration(fn, versionLatest))
		if all {
			for _, v := range fn.Versions {
				items = append(items, s.configuration(fn, strconv.Itoa(v.Version)))
			}
		}
	}
	got, next, aerr := page(q, items, func(c functionConfiguration) string { return versionKey(c.FunctionName, c.Version) })
	if aerr != nil {
		return aerr
	}
	out := map[string]any{"Functions": nonNil(got)}
	if next != "" {
		out["NextMarker"] = next
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}

func (s *Server) listVersions(w http.ResponseWriter, r *http.Request, raw string) *apiError {
	fn, _, _, aerr := s.lookup(raw, "")
	if aerr != nil {
		return aerr
	}
	items := []functionConfiguration{s.configuration(fn, versionLatest)}
	for _, v := range fn.Versions {
		items = append(items, s.configuration(fn, strconv.Itoa(v.Version)))
	}
	got, next, aerr := page(r.URL.Query(), items, func(c functionConfiguration) string { return versionKey(c.FunctionName, c.Version) })
	if aerr != nil {
		return aerr
	}
	out := map[string]any{"Versions": nonNil(got)}
	if next != "" {
		out["NextMarker"] = next
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}

// aliasConfiguration is the AliasConfiguration shape of the API.
type aliasConfiguration struct {
	AliasArn        string `json:"AliasArn"`
	Name            string `json:"Name"`
	FunctionVersion string `json:"FunctionVersion"`
	Description     string `json:"Description"`
	RevisionId      string `json:"RevisionId"`
}

func (s *Server) aliases(fn *function) []aliasConfiguration {
	names := make([]string, 0, len(fn.Aliases))
	for n := range fn.Aliases {
		names = append(names, n)
	}
	sort.Strings(names)
	out := make([]aliasConfiguration, 0, len(names))
	for _, n := range names {
		out = append(out, aliasConfiguration{
			AliasArn:        s.functionARN(fn.Name, n),
			Name:            n,
			FunctionVersion: fn.Aliases[n],
			RevisionId:      revisionID(fn.fingerprint, "alias/"+n),
		})
	}
	return out
}

func (s *Server) listAliases(w http.ResponseWriter, r *http.Request, raw string) *apiError {
	fn, _, _, aerr := s.lookup(raw, "")
	if aerr != nil {
		return aerr
	}
	q := r.URL.Query()
	var items []aliasConfiguration
	for _, a := range s.aliases(fn) {
		if v := q.Get("FunctionVersion"); v == "" || v == a.FunctionVersion {
			items = append(items, a)
		}
	}
	got, next, aerr := page(q, items, func(a aliasConfiguration) string { return a.Name })
	if aerr != nil {
		return aerr
	}
	out := map[string]any{"Aliases": nonNil(got)}
	if next != "" {
		out["NextMarker"] = next
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}

func (s *Server) getAlias(w http.ResponseWriter, raw, alias string) *apiError {
	fn, _, _, aerr := s.lookup(raw, "")
	if aerr != nil {
		return aerr
	}
	for _, a := range s.aliases(fn) {
		if a.Name == alias {
			writeJSON(w, http.StatusOK, a)
			return nil
		}
	}
	return &apiError{status: http.StatusNotFound, code: "ResourceNotFoundException", msg: "Alias not found: " + s.functionARN(fn.Name, alias)}
}

// nonNil makes an empty page encode as [] rather than null.
func nonNil[T any](s []T) []T {
	if s == nil {
		return []T{}
	}
	return s
}
