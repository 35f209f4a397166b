package locallambda

import (
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"time"

	"sigs.k8s.io/yaml"
)

// Runtime kinds a function folder can declare in its manifest.
const (
	RuntimeNode     = "nodejs"
	RuntimeProvided = "provided"
	RuntimeGo       = "go"
)

const (
	versionLatest = "$LATEST"

	defaultTimeoutSeconds = 3
	defaultMemoryMB       = 128
	// defaultConcurrency caps instances of a function without reserved
	// concurrency, so a runaway caller cannot fork without bound on a
	// developer machine.
	defaultConcurrency = 10
	maxConcurrency     = 1000

	// fingerprintFileLimit bounds the walk done every poll interval; files past
	// it (typically deep node_modules trees) do not trigger reloads.
	fingerprintFileLimit = 10000
)

var (
	functionNameRE = regexp.MustCompile(`^[a-zA-Z0-9_-]{1,64}$`)
	aliasNameRE    = regexp.MustCompile(`^[a-zA-Z0-9_-]{1,128}$`)
	versionRE      = regexp.MustCompile(`^[1-9][0-9]{0,9}$`)
)

// Manifest is the optional function.yaml (or function.json) in a function
// folder. Every field is optional.
type Manifest struct {
	// Runtime is nodejs, provided (an executable "bootstrap" in the folder) or
	// go (a main package built with `go build`, or a prebuilt "bootstrap").
	// Default: provided when the folder has an executable bootstrap, else
	// nodejs when the handler's module is a .js/.mjs/.cjs file (src/app.js
	// for handler src/app.handler; index.js without a handler), else go when
	// it has .go files.
	Runtime string `json:"runtime,omitempty"`
	// Handler is passed to the runtime as _HANDLER. Default: index.handler
	// for nodejs, "bootstrap" otherwise.
	Handler string `json:"handler,omitempty"`
	// Description is reported by GetFunction and ListFunctions. Default: "".
	Description string `json:"description,omitempty"`
	// Timeout is the invocation time limit in seconds, 1 to 900. Default: 3,
	// as on AWS.
	Timeout int `json:"timeout,omitempty"`
	// MemorySize in MB, 128 to 10240; informational only (no limit is
	// enforced) but passed as AWS_LAMBDA_FUNCTION_MEMORY_SIZE. Default: 128.
	MemorySize int `json:"memorySize,omitempty"`
	// ReservedConcurrency caps concurrent invocations (= warm instances);
	// 0 throttles every invocation, as on AWS. Default: unreserved, which
	// here means at most 10 instances.
	ReservedConcurrency *int `json:"reservedConcurrency,omitempty"`
	// Environment is added to the function process environment. Keys may not
	// override the reserved AWS_LAMBDA_*, _HANDLER, LAMBDA_TASK_ROOT and
	// LAMBDA_RUNTIME_DIR variables. Default: none.
	Environment map[string]string `json:"environment,omitempty"`
	// Versions lists published versions. Every version runs the folder's
	// current code; versions exist so qualified ARNs, aliases and
	// X-Amz-Executed-Version behave as on AWS. Default: none.
	Versions []ManifestVersion `json:"versions,omitempty"`
	// Aliases maps an alias name to a published version or $LATEST.
	// Default: none.
	Aliases map[string]string `json:"aliases,omitempty"`
}

// ManifestVersion is one published version of a function.
type ManifestVersion struct {
	// Version is a positive integer, as AWS numbers versions.
	Version int `json:"version"`
	// Description is reported for that version. Default: "".
	Description string `json:"description,omitempty"`
}

// function is one function as loaded from its folder: an immutable value,
// replaced whole when the folder changes.
type function struct {
	Name        string
	Dir         string // absolute path of the folder (LAMBDA_TASK_ROOT)
	Runtime     string // nodejs | provided | go
	Handler     string
	Description string
	Timeout     time.Duration
	MemoryMB    int
	Reserved    *int
	Environment map[string]string
	Versions    []ManifestVersion
	Aliases     map[string]string
	CodeSize    int64
	CodeSHA256  string // base64, as AWS reports it
	Modified    time.Time
	// fingerprint changes whenever a file in the folder changes; instances
	// started from an older fingerprint are recycled.
	fingerprint string
}

// concurrencyLimit is the number of instances that may run at once.
func (f *function) concurrencyLimit() int {
	if f.Reserved != nil {
		return *f.Reserved
	}
	return defaultConcurrency
}

// hasVersion reports whether v is $LATEST or a published version.
func (f *function) hasVersion(v string) bool {
	if v == versionLatest {
		return true
	}
	for _, mv := range f.Versions {
		if strconv.Itoa(mv.Version) == v {
			return true
		}
	}
	return false
}

// resolveQualifier maps "", $LATEST, a version or an alias to a version.
func (f *function) resolveQualifier(q string) (string, bool) {
	switch {
	case q == "" || q == versionLatest:
		return versionLatest, true
	case versionRE.MatchString(q):
		return q, f.hasVersion(q)
	default:
		v, ok := f.Aliases[q]
		return v, ok
	}
}

// catalog is the set of functions found in Options.Dir at one scan.
type catalog struct {
	byName map[string]*function
	names  []string // sorted
	// problems holds one error per folder that was skipped, so a bad folder
	// never hides the others.
	problems map[string]error
}

// parseManifest decodes a manifest strictly: unknown fields are errors.
func parseManifest(data []byte) (*Manifest, error) {
	var m Manifest
	if err := yaml.UnmarshalStrict(data, &m); err != nil {
		return nil, fmt.Errorf("decoding manifest: %w", err)
	}
	if err := m.validate(); err != nil {
		return nil, err
	}
	return &m, nil
}

func (m *Manifest) validate() error {
	switch m.Runtime {
	case "", RuntimeNode, RuntimeProvided, RuntimeGo:
	default:
		return fmt.Errorf("runtime %q: allowed values are nodejs, provided, go", m.Runtime)
	}
	if m.Timeout != 0 && (m.Timeout < 1 || m.Timeout > 900) {
		return fmt.Errorf("timeout %d: must be between 1 and 900 seconds", m.Timeout)
	}
	if m.MemorySize != 0 && (m.MemorySize < 128 || m.MemorySize > 10240) {
		return fmt.Errorf("memorySize %d: must be between 128 and 10240 MB", m.MemorySize)
	}
	if r := m.ReservedConcurrency; r != nil && (*r < 0 || *r > maxConcurrency) {
		return fmt.Errorf("reservedConcurrency %d: must be between 0 and %d", *r, maxConcurrency)
	}
	for k := range m.Environment {
		if k == "" || strings.ContainsAny(k, "=\x00") {
			return fmt.Errorf("environment key %q: must be non-empty without '=' or NUL", k)
		}
		if reservedEnv(k) {
			return fmt.Errorf("environment key %q: reserved by the Lambda runtime environment", k)
		}
	}
	seen := map[int]bool{}
	for i, v := range m.Versions {
		if v.Version < 1 {
			return fmt.Errorf("versions[%d].version %d: must be a positive integer", i, v.Version)
		}
		if seen[v.Version] {
			return fmt.Errorf("versions[%d].version %d: listed twice", i, v.Version)
		}
		seen[v.Version] = true
	}
	for name, target := range m.Aliases {
		if !aliasNameRE.MatchString(name) || versionRE.MatchString(name) || name == versionLatest {
			return fmt.Errorf("aliases key %q: must match [a-zA-Z0-9_-]+ and not be a version number", name)
		}
		if target == versionLatest {
			continue
		}
		n, err := strconv.Atoi(target)
		if err != nil || !seen[n] {
			return fmt.Errorf("aliases.%s %q: must be $LATEST or one of the listed versions", name, target)
		}
	}
	return nil
}

// reservedEnv reports variables the runtime contract owns.
func reservedEnv(k string) bool {
	switch k {
	case "_HANDLER", "LAMBDA_TASK_ROOT", "LAMBDA_RUNTIME_DIR", "AWS_REGION", "AWS_DEFAULT_REGION",
		"AWS_EXECUTION_ENV", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN":
		return true
	}
	return strings.HasPrefix(k, "AWS_LAMBDA_")
}

// scanDir loads every function folder under dir. Folders that are not
// functions are ignored; folders that are broken are reported in problems.
func scanDir(dir string) (*catalog, error) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, fmt.Errorf("reading functions dir: %w", err)
	}
	c := &catalog{byName: map[string]*function{}, problems: map[string]error{}}
	for _, e := range entries {
		name := e.Name()
		if strings.HasPrefix(name, ".") {
			continue
		}
		path := filepath.Join(dir, name)
		st, err := os.Stat(path) // follows symlinks to folders
		if err != nil || !st.IsDir() {
			continue
		}
		if !functionNameRE.MatchString(name) {
			c.problems[name] = fmt.Errorf("folder name %q: a function name must match [a-zA-Z0-9_-]{1,64}", name)
			continue
		}
		fn, err := loadFunction(name, path)
		if err != nil {
			c.problems[name] = err
			continue
		}
		if fn == nil {
			continue
		}
		c.byName[name] = fn
		c.names = append(c.names, name)
	}
	sort.Strings(c.names)
	return c, nil
}

// loadFunction reads one folder. It returns nil, nil for a folder that holds
// no function.
func loadFunction(name, dir string) (*function, error) {
	abs, err := filepath.Abs(dir)
	if err != nil {
		return nil, fmt.Errorf("resolving %s: %w", dir, err)
	}
	var m Manifest
	manifestFound := false
	for _, mf := range []string{"function.yaml", "function.yml", "function.json"} {
		data, err := os.ReadFile(filepath.Join(abs, mf))
		if errors.Is(err, fs.ErrNotExist) {
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("reading %s: %w", mf, err)
		}
		pm, err := parseManifest(data)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", mf, err)
		}
		m, manifestFound = *pm, true
		break
	}
	if m.Runtime == "" {
		m.Runtime = detectRuntime(abs, m.Handler)
		if m.Runtime == "" {
			if !manifestFound {
				return nil, nil
			}
			module := "index"
			if m.Handler != "" {
				module = nodeModule(m.Handler)
			}
			return nil, fmt.Errorf("runtime: not set, and handler %q names no %s.js, .mjs or .cjs (nor is there an executable bootstrap or .go files); set runtime: nodejs, provided or go", handlerOrDefault(m.Handler), module)
		}
	}
	fn := &function{
		Name:        name,
		Dir:         abs,
		Runtime:     m.Runtime,
		Handler:     m.Handler,
		Description: m.Description,
		Timeout:     time.Duration(m.Timeout) * time.Second,
		MemoryMB:    m.MemorySize,
		Reserved:    m.ReservedConcurrency,
		Environment: m.Environment,
		Versions:    m.Versions,
		Aliases:     m.Aliases,
	}
	if fn.Handler == "" {
		fn.Handler = "bootstrap"
		if fn.Runtime == RuntimeNode {
			fn.Handler = "index.handler"
		}
	}
	if fn.Timeout == 0 {
		fn.Timeout = defaultTimeoutSeconds * time.Second
	}
	if fn.MemoryMB == 0 {
		fn.MemoryMB = defaultMemoryMB
	}
	sort.Slice(fn.Versions, func(i, j int) bool { return fn.Versions[i].Version < fn.Versions[j].Version })
	if err := fingerprintDir(fn); err != nil {
		return nil, err
	}
	return fn, nil
}

// detectRuntime infers a folder's runtime: provided with an executable
// bootstrap, else nodejs when the handler's module (index for the default
// handler) is a .js, .mjs or .cjs file, else go with .go files.
func detectRuntime(dir, handler string) string {
	if isExecutable(filepath.Join(dir, "bootstrap")) {
		return RuntimeProvided
	}
	module := "index"
	if handler != "" {
		module = nodeModule(handler)
	}
	for _, ext := range []string{".js", ".mjs", ".cjs"} {
		if st, err := os.Stat(filepath.Join(dir, filepath.FromSlash(module)+ext)); err == nil && st.Mode().IsRegular() {
			return RuntimeNode
		}
	}
	if gos, _ := filepath.Glob(filepath.Join(dir, "*.go")); len(gos) > 0 {
		return RuntimeGo
	}
	return ""
}

// nodeModule is the module path of a Node.js handler "path/to/module.export"
// (the export part may be nested: "app.routes.handler" is module app), as
// the managed runtime and the bootstrap split it.
func nodeModule(handler string) string {
	slash := strings.LastIndexByte(handler, '/')
	if dot := strings.IndexByte(handler[slash+1:], '.'); dot > 0 {
		return handler[:slash+1+dot]
	}
	return handler
}

func handlerOrDefault(h string) string {
	if h == "" {
		return "index.handler"
	}
	return h
}

func isExecutable(path string) bool {
	st, err := os.Stat(path)
	return err == nil && st.Mode().IsRegular() && st.Mode().Perm()&0o111 != 0
}

// fingerprintDir fills CodeSize, CodeSHA256, Modified and fingerprint. The
// SHA-256 covers file paths and contents so it is stable across copies.
func fingerprintDir(fn *function) error {
	type entry struct {
		rel  string
		size int64
		mod  time.Time
	}
	var files []entry
	err := filepath.WalkDir(fn.Dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if len(files) >= fingerprintFileLimit {
			return filepath.SkipAll
		}
		if d.IsDir() {
			if p != fn.Dir && strings.HasPrefix(d.Name(), ".") {
				return filepath.SkipDir
			}
			return nil
		}
		info, err := d.Info()
		if err != nil {
			return err
		}
		if !info.Mode().IsRegular() {
			return nil
		}
		rel, _ := filepath.Rel(fn.Dir, p)
		files = append(files, entry{filepath.ToSlash(rel), info.Size(), info.ModTime()})
		return nil
	})
	if err != nil {
		return fmt.Errorf("walking function folder: %w", err)
	}
	sort.Slice(files, func(i, j int) bool { return files[i].rel < files[j].rel })
	fp := sha256.New()
	for _, f := range files {
		fmt.Fprintf(fp, "%s\x00%d\x00%d\n", f.rel, f.size, f.mod.UnixNano())
		fn.CodeSize += f.size
		if f.mod.After(fn.Modified) {
			fn.Modified = f.mod
		}
	}
	fn.fingerprint = fmt.Sprintf("%x", fp.Sum(nil))
	return nil
}

// codeSHA256 hashes file paths and contents. It is computed when a function
// is (re)loaded, not on every poll.
func codeSHA256(fn *function) string {
	h := sha256.New()
	_ = filepath.WalkDir(fn.Dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			if err == nil && p != fn.Dir && strings.HasPrefix(d.Name(), ".") {
				return filepath.SkipDir
			}
			return nil
		}
		if !d.Type().IsRegular() {
			return nil
		}
		rel, _ := filepath.Rel(fn.Dir, p)
		fmt.Fprintf(h, "%s\x00", filepath.ToSlash(rel))
		f, err := os.Open(p)
		if err != nil {
			return nil
		}
		defer f.Close()
		_, _ = io.Copy(h, f)
		return nil
	})
	return base64.StdEncoding.EncodeToString(h.Sum(nil))
}
