package v1

import (
	"bytes"
	"encoding/json"
	"reflect"
	"sort"
	"strings"
	"sync"
)

// RawFields holds the fields of one JSON object that its Go type does not
// model, each as written. Types at Gloo's option and extension points carry
// them so that reading and writing a resource back never loses a field
// lambdagate does not implement (internal/resource names each on status).
type RawFields map[string]json.RawMessage

// Names returns the field names, sorted.
func (r RawFields) Names() []string {
	names := make([]string, 0, len(r))
	for k := range r {
		names = append(names, k)
	}
	sort.Strings(names)
	return names
}

// MarshalWithRaw encodes v, a struct without MarshalJSON of its own (the
// caller's plain alias type), and adds the raw fields its encoding does not
// have.
func MarshalWithRaw(v any, raw RawFields) ([]byte, error) {
	b, err := json.Marshal(v)
	if err != nil || len(raw) == 0 {
		return b, err
	}
	var m map[string]json.RawMessage
	if err := json.Unmarshal(b, &m); err != nil {
		return nil, err
	}
	for k, val := range raw {
		if _, ok := m[k]; !ok {
			m[k] = val
		}
	}
	return json.Marshal(m)
}

// UnmarshalWithRaw decodes b into v, a pointer to the caller's plain alias
// struct type, and returns the fields of b that v's type does not have (nil
// when there are none).
func UnmarshalWithRaw(b []byte, v any) (RawFields, error) {
	if err := json.Unmarshal(b, v); err != nil {
		return nil, err
	}
	if bytes.Equal(bytes.TrimSpace(b), []byte("null")) {
		return nil, nil
	}
	var m map[string]json.RawMessage
	if err := json.Unmarshal(b, &m); err != nil {
		return nil, err
	}
	known := JSONFieldNames(reflect.TypeOf(v).Elem())
	var raw RawFields
	for k, val := range m {
		if _, ok := known[k]; ok {
			continue
		}
		if raw == nil {
			raw = RawFields{}
		}
		raw[k] = val
	}
	return raw, nil
}

var fieldNames sync.Map // reflect.Type -> map[string]struct{}

// JSONFieldNames returns the JSON names of a struct type's encoded fields
// (fields tagged "-" excluded, embedded structs flattened).
func JSONFieldNames(t reflect.Type) map[string]struct{} {
	if v, ok := fieldNames.Load(t); ok {
		return v.(map[string]struct{})
	}
	names := map[string]struct{}{}
	for i := 0; i < t.NumField(); i++ {
		f := t.Field(i)
		if !f.IsExported() {
			continue
		}
		name := strings.Split(f.Tag.Get("json"), ",")[0]
		if f.Anonymous && name == "" {
			ft := f.Type
			if ft.Kind() == reflect.Pointer {
				ft = ft.Elem()
			}
			for k := range JSONFieldNames(ft) {
				names[k] = struct{}{}
			}
			continue
		}
		if name == "-" {
			continue
		}
		if name == "" {
			name = f.Name
		}
		names[name] = struct{}{}
	}
	fieldNames.Store(t, names)
	return names
}
