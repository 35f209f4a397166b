package sqlite

import (
	"encoding/json"
	"fmt"
	"strconv"
	"time"

	core "github.com/lambdagate/lambdagate/api/core/v1"
	"github.com/lambdagate/lambdagate/internal/resource"
	"github.com/lambdagate/lambdagate/internal/store"
)

// ref names a resource in errors and logs.
type ref struct {
	kind            resource.Kind
	namespace, name string
}

func (r ref) String() string { return fmt.Sprintf("%s %s/%s", r.kind, r.namespace, r.name) }

func (r ref) err(code store.Code, detail string) *store.Error {
	return &store.Error{Code: code, Kind: r.kind, Namespace: r.namespace, Name: r.name, Detail: detail}
}

// row is one resources row.
type row struct {
	ref
	uid        string
	rev        int64
	generation int64
	created    string
	spec       []byte
	status     []byte // nil when the resource has none
}

// normalize returns a copy of obj that the store may change freely: the
// right apiVersion and kind, the default namespace, a Secret's stringData
// merged into data. It checks the parts the store itself relies on.
func normalize(obj resource.Object) (resource.Object, error) {
	if obj == nil {
		return nil, &store.Error{Code: store.Invalid, Detail: "no object given"}
	}
	kind := obj.GetKind()
	m := obj.GetMetadata()
	r := ref{kind, m.Namespace, m.Name}
	if r.namespace == "" {
		r.namespace = core.DefaultNamespace
	}
	c, err := resource.New(kind)
	if err != nil {
		return nil, r.err(store.Invalid, err.Error())
	}
	b, err := json.Marshal(obj)
	if err != nil {
		return nil, r.err(store.Invalid, fmt.Sprintf("encoding: %v", err))
	}
	if err := json.Unmarshal(b, c); err != nil {
		return nil, r.err(store.Invalid, fmt.Sprintf("decoding: %v", err))
	}
	// Unmarshalling onto c sets only the fields present, so this restores the
	// type fields whatever the caller had in them.
	typ := fmt.Sprintf(`{"apiVersion":%q,"kind":%q}`, resource.APIVersion(kind), kind)
	if err := json.Unmarshal([]byte(typ), c); err != nil {
		return nil, r.err(store.Invalid, fmt.Sprintf("decoding: %v", err))
	}
	cm := c.GetMetadata()
	cm.Namespace = r.namespace
	if cm.Name == "" {
		return nil, r.err(store.Invalid, "metadata.name is required")
	}
	if sec, ok := c.(*resource.Secret); ok && sec.Type == "" {
		sec.Type = "Opaque" // the documented default, as Kubernetes stores it
	}
	if sec, ok := c.(*resource.Secret); ok && len(sec.StringData) > 0 {
		// As the Kubernetes API server does: stringData wins over data for the
		// same key and is never stored itself.
		if sec.Data == nil {
			sec.Data = make(map[string][]byte, len(sec.StringData))
		}
		for k, v := range sec.StringData {
			sec.Data[k] = []byte(v)
		}
		sec.StringData = nil
	}
	return c, nil
}

// encodeSpec returns the spec_json column for o: the object without status
// and without the store-owned metadata. It changes o's metadata and status,
// so it is called on copies only.
func encodeSpec(o resource.Object) ([]byte, error) {
	m := o.GetMetadata()
	m.ResourceVersion, m.Generation, m.UID, m.CreationTimestamp = "", 0, "", nil
	o.SetStatus(nil)
	return json.Marshal(o)
}

// specOnly returns spec_json less the metadata: the part whose change bumps
// the generation.
func specOnly(specJSON []byte) (string, error) {
	var fields map[string]json.RawMessage
	if err := json.Unmarshal(specJSON, &fields); err != nil {
		return "", err
	}
	delete(fields, "metadata")
	b, err := json.Marshal(fields) // sorted keys: comparable bytes
	return string(b), err
}

// decode builds the object of a row. The columns, not the JSON, are
// authoritative for the store-owned metadata.
func decode(r *row) (resource.Object, error) {
	o, err := resource.New(r.kind)
	if err != nil {
		return nil, err
	}
	if err := json.Unmarshal(r.spec, o); err != nil {
		return nil, fmt.Errorf("decoding spec_json: %w", err)
	}
	if r.status != nil && resource.HasStatus(r.kind) {
		var st core.Status
		if err := json.Unmarshal(r.status, &st); err != nil {
			return nil, fmt.Errorf("decoding status_json: %w", err)
		}
		o.SetStatus(&st)
	} else {
		o.SetStatus(nil)
	}
	created, err := time.Parse(time.RFC3339, r.created)
	if err != nil {
		return nil, fmt.Errorf("decoding created %q: %w", r.created, err)
	}
	m := o.GetMetadata()
	m.Namespace, m.Name = r.namespace, r.name
	m.UID = r.uid
	m.ResourceVersion = strconv.FormatInt(r.rev, 10)
	m.Generation = r.generation
	m.CreationTimestamp = &created
	return o, nil
}

// decodeLoose is decode for a row that may be corrupt, used where an object
// must be produced anyway (the Deleted event): it falls back to an object
// carrying only the metadata of the columns.
func decodeLoose(r *row) resource.Object {
	if o, err := decode(r); err == nil {
		return o
	}
	o, err := resource.New(r.kind)
	if err != nil {
		return nil
	}
	m := o.GetMetadata()
	m.Namespace, m.Name, m.UID = r.namespace, r.name, r.uid
	m.ResourceVersion = strconv.FormatInt(r.rev, 10)
	m.Generation = r.generation
	return o
}
