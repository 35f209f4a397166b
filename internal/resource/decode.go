package resource

import (
	"bufio"
	"bytes"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"reflect"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"time"

	core "github.com/lambdagate/lambdagate/api/core/v1"
	gateway "github.com/lambdagate/lambdagate/api/gateway/v1"
	"sigs.k8s.io/yaml"
)

// MaxManifestBytes bounds what DecodeAll reads, so a huge or hostile input
// fails with a clear error instead of exhausting memory.
const MaxManifestBytes = 16 << 20

// DecodeError describes one document that could not be decoded. Problems
// each name a field path.
type DecodeError struct {
	Source   string // file name or "-"
	Document int    // 1-based index in the stream
	Line     int    // first line of the document
	Ref      string // "Kind namespace/name" when known
	Problems []string
}

func (e *DecodeError) Error() string {
	where := fmt.Sprintf("%s: document %d (line %d)", e.Source, e.Document, e.Line)
	if e.Ref != "" {
		where += ": " + e.Ref
	}
	if len(e.Problems) == 1 {
		return where + ": " + e.Problems[0]
	}
	return where + ":\n  " + strings.Join(e.Problems, "\n  ")
}

// DecodeErrors is every DecodeError of one input.
type DecodeErrors []*DecodeError

func (es DecodeErrors) Error() string {
	var b strings.Builder
	for i, e := range es {
		if i > 0 {
			b.WriteByte('\n')
		}
		b.WriteString(e.Error())
	}
	return b.String()
}

// DecodeAll reads a stream of YAML or JSON documents separated by "---"
// lines and returns one object per document, decoded strictly: an unknown
// field, a wrong type, a duplicate key or an unknown kind is an error naming
// the field path. Defaults are applied (namespace "gloo-system", secret
// stringData merged into data). Documents that decode are returned even
// when others fail; the error is then DecodeErrors. A "kind: List" document
// contributes its items.
func DecodeAll(r io.Reader, source string) ([]Object, error) {
	return DecodeAllIn(r, source, core.DefaultNamespace)
}

// DecodeAllIn is DecodeAll with another default namespace for documents
// that name none (kubectl's -n).
func DecodeAllIn(r io.Reader, source, namespace string) ([]Object, error) {
	if namespace == "" {
		namespace = core.DefaultNamespace
	}
	data, err := io.ReadAll(io.LimitReader(r, MaxManifestBytes+1))
	if err != nil {
		return nil, fmt.Errorf("reading %s: %w", source, err)
	}
	if len(data) > MaxManifestBytes {
		return nil, fmt.Errorf("reading %s: manifest larger than %d MiB", source, MaxManifestBytes>>20)
	}
	var objs []Object
	var errs DecodeErrors
	for i, doc := range splitDocuments(data) {
		if len(bytes.TrimSpace(stripComments(doc.text))) == 0 {
			continue
		}
		got, problems, ref := decodeDocument(doc.text, namespace)
		for i, p := range problems {
			problems[i] = fileLines(p, doc.line)
		}
		if len(problems) > 0 {
			errs = append(errs, &DecodeError{Source: source, Document: i + 1, Line: doc.line, Ref: ref, Problems: problems})
			continue
		}
		objs = append(objs, got...)
	}
	if len(errs) > 0 {
		return objs, errs
	}
	return objs, nil
}

// DecodeOne decodes a single JSON or YAML object.
func DecodeOne(data []byte) (Object, error) {
	got, problems, ref := decodeDocument(data, core.DefaultNamespace)
	if len(problems) > 0 {
		return nil, &DecodeError{Source: "input", Document: 1, Line: 1, Ref: ref, Problems: problems}
	}
	if len(got) != 1 {
		return nil, fmt.Errorf("expected one object, got %d", len(got))
	}
	return got[0], nil
}

type document struct {
	text []byte
	line int
}

// splitDocuments splits on lines that are exactly "---" (optionally
// followed by a comment or spaces), as kubectl does.
func splitDocuments(data []byte) []document {
	var docs []document
	var cur bytes.Buffer
	start, line := 1, 0
	sc := bufio.NewScanner(bytes.NewReader(data))
	sc.Buffer(make([]byte, 0, 64<<10), MaxManifestBytes+1)
	for sc.Scan() {
		line++
		l := sc.Bytes()
		if isSeparator(l) {
			docs = append(docs, document{append([]byte(nil), cur.Bytes()...), start})
			cur.Reset()
			start = line + 1
			continue
		}
		cur.Write(l)
		cur.WriteByte('\n')
	}
	docs = append(docs, document{cur.Bytes(), start})
	return docs
}

func isSeparator(l []byte) bool {
	if !bytes.HasPrefix(l, []byte("---")) {
		return false
	}
	rest := bytes.TrimSpace(l[3:])
	return len(rest) == 0 || rest[0] == '#'
}

func stripComments(doc []byte) []byte {
	var out bytes.Buffer
	for _, l := range bytes.Split(doc, []byte("\n")) {
		t := bytes.TrimSpace(l)
		if len(t) == 0 || t[0] == '#' {
			continue
		}
		out.Write(l)
		out.WriteByte('\n')
	}
	return out.Bytes()
}

// decodeDocument returns the objects of one document, or the problems.
func decodeDocument(doc []byte, namespace string) ([]Object, []string, string) {
	js, err := yaml.YAMLToJSONStrict(doc)
	if err != nil {
		return nil, []string{cleanYAMLError(err)}, ""
	}
	dec := json.NewDecoder(bytes.NewReader(js))
	dec.UseNumber()
	var raw any
	if err := dec.Decode(&raw); err != nil {
		return nil, []string{"invalid document: " + err.Error()}, ""
	}
	m, ok := raw.(map[string]any)
	if !ok {
		return nil, []string{fmt.Sprintf("document must be an object with apiVersion and kind, got %s", jsonType(raw))}, ""
	}
	return decodeMap(m, namespace)
}

func decodeMap(m map[string]any, namespace string) ([]Object, []string, string) {
	apiVersion, _ := m["apiVersion"].(string)
	kindStr, _ := m["kind"].(string)
	if kindStr == "" {
		return nil, []string{"kind: required value: must be one of " + kindList()}, ""
	}
	if kindStr == "List" {
		return decodeList(m, namespace)
	}
	k := Kind(kindStr)
	info, ok := kinds[k]
	if !ok {
		return nil, []string{fmt.Sprintf("kind: unsupported value %q: must be one of %s", kindStr, kindList())}, ""
	}
	ref := string(k)
	if md, ok := m["metadata"].(map[string]any); ok {
		name, _ := md["name"].(string)
		ns, _ := md["namespace"].(string)
		if ns == "" {
			ns = namespace
		}
		if name == "" {
			name = "(no name)"
		}
		ref = fmt.Sprintf("%s %s/%s", k, ns, name)
	}
	if apiVersion == "" {
		return nil, []string{fmt.Sprintf("apiVersion: required value: must be %q for kind %s", info.apiVersion, k)}, ref
	}
	if apiVersion != info.apiVersion {
		return nil, []string{fmt.Sprintf("apiVersion: unsupported value %q for kind %s: must be %q", apiVersion, k, info.apiVersion)}, ref
	}
	obj := info.new()
	problems := checkValue(m, reflect.TypeOf(obj).Elem(), "")
	if len(problems) > 0 {
		return nil, problems, ref
	}
	js, _ := json.Marshal(m)
	if err := json.Unmarshal(js, obj); err != nil {
		return nil, []string{err.Error()}, ref
	}
	if obj.GetMetadata().Namespace == "" {
		obj.GetMetadata().Namespace = namespace
	}
	Default(obj)
	if problems := requiredMeta(obj); len(problems) > 0 {
		return nil, problems, ref
	}
	return []Object{obj}, nil, ref
}

func decodeList(m map[string]any, namespace string) ([]Object, []string, string) {
	var objs []Object
	var problems []string
	for key := range m {
		switch key {
		case "apiVersion", "kind", "items", "metadata":
		default:
			problems = append(problems, fmt.Sprintf("%s: unknown field in List: allowed are apiVersion, kind, items, metadata", key))
		}
	}
	items, ok := m["items"].([]any)
	if !ok && m["items"] != nil {
		return nil, append(problems, "items: must be a list"), "List"
	}
	for i, it := range items {
		im, ok := it.(map[string]any)
		if !ok {
			problems = append(problems, fmt.Sprintf("items[%d]: must be an object", i))
			continue
		}
		got, ps, ref := decodeMap(im, namespace)
		for _, p := range ps {
			problems = append(problems, fmt.Sprintf("items[%d] (%s): %s", i, ref, p))
		}
		objs = append(objs, got...)
	}
	if len(problems) > 0 {
		return nil, problems, "List"
	}
	return objs, nil, "List"
}

func requiredMeta(o Object) []string {
	if o.GetMetadata().Name == "" {
		return []string{"metadata.name: required value"}
	}
	return nil
}

// Default fills the defaults every kind shares.
func Default(o Object) {
	m := o.GetMetadata()
	if m.Namespace == "" {
		m.Namespace = core.DefaultNamespace
	}
	if s, ok := o.(*Secret); ok {
		if s.Type == "" {
			s.Type = "Opaque"
		}
		if len(s.StringData) > 0 {
			if s.Data == nil {
				s.Data = map[string][]byte{}
			}
			for k, v := range s.StringData {
				s.Data[k] = []byte(v)
			}
			s.StringData = nil
		}
	}
}

var (
	durationType = reflect.TypeOf(core.Duration{})
	percentType  = reflect.TypeOf(gateway.Percentage{})
	timeType     = reflect.TypeOf(core.ObjectMeta{}.CreationTimestamp).Elem()
	bytesType    = reflect.TypeOf([]byte(nil))
)

// checkValue walks v against t and reports every unknown field and wrong
// type with its path. encoding/json stops at the first problem and does not
// name nested paths for unknown fields; users fixing a manifest want all of
// them at once.
func checkValue(v any, t reflect.Type, path string) []string {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	if v == nil {
		return nil // null is "unset" for every field
	}
	at := func(msg string) []string {
		p := path
		if p == "" {
			p = "(root)"
		}
		return []string{p + ": " + msg}
	}
	switch t {
	case durationType:
		var d core.Duration
		js, _ := json.Marshal(v)
		if err := d.UnmarshalJSON(js); err != nil {
			return at(err.Error())
		}
		return nil
	case percentType:
		if _, ok := v.(json.Number); !ok {
			return at(fmt.Sprintf("must be a number, got %s", jsonType(v)))
		}
		return nil
	case timeType:
		str, ok := v.(string)
		if !ok {
			return at(fmt.Sprintf("must be an RFC 3339 timestamp such as \"2024-01-02T03:04:05Z\", got %s", jsonType(v)))
		}
		if _, err := time.Parse(time.RFC3339, str); err != nil {
			return at(fmt.Sprintf("invalid value %q: must be an RFC 3339 timestamp such as \"2024-01-02T03:04:05Z\"", str))
		}
		return nil
	case bytesType:
		s, ok := v.(string)
		if !ok {
			return at(fmt.Sprintf("must be a base64 string, got %s", jsonType(v)))
		}
		if _, err := base64.StdEncoding.DecodeString(s); err != nil {
			return at("invalid base64 (use stringData for plain values)")
		}
		return nil
	}
	switch t.Kind() {
	case reflect.Struct:
		m, ok := v.(map[string]any)
		if !ok {
			return at(fmt.Sprintf("must be an object, got %s", jsonType(v)))
		}
		fields := jsonFields(t)
		var problems []string
		keys := sortedKeys(m)
		for _, k := range keys {
			ft, ok := fields[k]
			if !ok {
				if camel := lowerCamel(k); camel != k {
					if _, known := fields[camel]; known || isGlooField(t, camel) {
						if _, both := m[camel]; both {
							problems = append(problems, join(path, k)+": duplicate field: "+camel+" is also set (the same field in proto spelling)")
							continue
						}
						// Gloo's parser accepts the proto names too; the
						// object keeps the JSON name.
						m[camel] = m[k]
						delete(m, k)
						k, ft = camel, fields[camel]
						if !known {
							continue
						}
						ok = true
					}
				}
			}
			if !ok {
				if _, gloo := glooField(t, k); gloo {
					// Kept as written; Validate names it on status.
					continue
				}
				problems = append(problems, join(path, k)+": unknown field: allowed fields are "+allowed(fields, t))
				continue
			}
			problems = append(problems, checkValue(m[k], ft, join(path, k))...)
		}
		return problems
	case reflect.Map:
		m, ok := v.(map[string]any)
		if !ok {
			return at(fmt.Sprintf("must be an object, got %s", jsonType(v)))
		}
		var problems []string
		for _, k := range sortedKeys(m) {
			problems = append(problems, checkValue(m[k], t.Elem(), join(path, k))...)
		}
		return problems
	case reflect.Slice:
		l, ok := v.([]any)
		if !ok {
			return at(fmt.Sprintf("must be a list, got %s", jsonType(v)))
		}
		var problems []string
		for i, e := range l {
			problems = append(problems, checkValue(e, t.Elem(), fmt.Sprintf("%s[%d]", path, i))...)
		}
		return problems
	case reflect.String:
		if _, ok := v.(string); !ok {
			msg := fmt.Sprintf("must be a string, got %s", jsonType(v))
			if n, isNum := v.(json.Number); isNum {
				msg += fmt.Sprintf(" (quote it: \"%s\")", n)
			}
			return at(msg)
		}
	case reflect.Bool:
		if _, ok := v.(bool); !ok {
			return at(fmt.Sprintf("must be true or false, got %s", jsonType(v)))
		}
	case reflect.Int, reflect.Int32, reflect.Int64, reflect.Uint32, reflect.Uint64:
		n, ok := v.(json.Number)
		if !ok {
			return at(fmt.Sprintf("must be an integer, got %s", jsonType(v)))
		}
		if _, err := n.Int64(); err != nil {
			return at(fmt.Sprintf("must be an integer, got number %s", n))
		}
	case reflect.Float32, reflect.Float64:
		if _, ok := v.(json.Number); !ok {
			return at(fmt.Sprintf("must be a number, got %s", jsonType(v)))
		}
	}
	return nil
}

// ProtoNames renames, in m (an object of kind k as JSON values), the
// fields written in Gloo's proto spelling (prefix_rewrite) to their JSON
// names, as the manifest decoder does. The Kubernetes store uses it on
// what the API server stored as written. It changes m in place and
// reports nothing: the API server already accepted the object, and
// fields still unknown are kept and named on status by Validate.
func ProtoNames(k Kind, m map[string]any) {
	info, ok := kinds[k]
	if !ok {
		return
	}
	_ = checkValue(m, reflect.TypeOf(info.new()).Elem(), "")
}

// lowerCamel turns a proto field name (tokens_per_fill) into its JSON
// name (tokensPerFill); a name without "_" is returned as is.
func lowerCamel(s string) string {
	if !strings.Contains(s, "_") {
		return s
	}
	var b strings.Builder
	up := false
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == '_':
			up = true
		case up && c >= 'a' && c <= 'z':
			b.WriteByte(c - 'a' + 'A')
			up = false
		default:
			b.WriteByte(c)
			up = false
		}
	}
	return b.String()
}

func isGlooField(t reflect.Type, name string) bool {
	_, ok := glooField(t, name)
	return ok
}

func jsonFields(t reflect.Type) map[string]reflect.Type {
	fields := map[string]reflect.Type{}
	for i := 0; i < t.NumField(); i++ {
		f := t.Field(i)
		if !f.IsExported() {
			continue
		}
		tag := f.Tag.Get("json")
		name := strings.Split(tag, ",")[0]
		if f.Anonymous && name == "" {
			ft := f.Type
			if ft.Kind() == reflect.Pointer {
				ft = ft.Elem()
			}
			for k, v := range jsonFields(ft) {
				fields[k] = v
			}
			continue
		}
		if name == "-" {
			continue
		}
		if name == "" {
			name = f.Name
		}
		fields[name] = f.Type
	}
	return fields
}

// allowed lists the fields of t: lambdagate's, then Gloo's that it keeps
// without implementing them.
func allowed(fields map[string]reflect.Type, t reflect.Type) string {
	names := make([]string, 0, len(fields))
	for k := range fields {
		names = append(names, k)
	}
	sort.Strings(names)
	s := strings.Join(names, ", ")
	if g := glooFields[t]; len(g) > 0 {
		others := make([]string, 0, len(g))
		for k := range g {
			others = append(others, k)
		}
		sort.Strings(others)
		s += " (and Gloo's " + strings.Join(others, ", ") + ", which lambdagate keeps and reports on status without implementing them)"
	}
	return s
}

func sortedKeys(m map[string]any) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

func join(path, key string) string {
	if path == "" {
		return key
	}
	return path + "." + key
}

func jsonType(v any) string {
	switch x := v.(type) {
	case nil:
		return "null"
	case string:
		return fmt.Sprintf("string %q", x)
	case bool:
		return fmt.Sprintf("boolean %v", x)
	case json.Number:
		return "number " + x.String()
	case []any:
		return "a list"
	case map[string]any:
		return "an object"
	}
	return fmt.Sprintf("%T", v)
}

var yamlLineRe = regexp.MustCompile(`\bline (\d+)\b`)

// fileLines turns the YAML parser's document-relative "line N" into a line
// of the whole file.
func fileLines(msg string, docStart int) string {
	if docStart <= 1 || !strings.HasPrefix(msg, "invalid YAML") {
		return msg
	}
	return yamlLineRe.ReplaceAllStringFunc(msg, func(m string) string {
		n, _ := strconv.Atoi(m[5:])
		return "line " + strconv.Itoa(n+docStart-1)
	})
}

func cleanYAMLError(err error) string {
	s := err.Error()
	s = strings.TrimPrefix(s, "error converting YAML to JSON: ")
	s = strings.TrimPrefix(s, "yaml: ")
	if strings.Contains(s, "excessive aliasing") {
		return "invalid YAML: document contains excessive aliasing (possible alias bomb)"
	}
	return "invalid YAML: " + s
}
