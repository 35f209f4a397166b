package cli

import (
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"time"

	"sigs.k8s.io/yaml"

	"github.com/lambdagate/lambdagate/internal/resource"
)

// redacted replaces every secret value in printed output unless
// --show-secrets is given.
const redacted = "<redacted>"

// typeName is how kubectl names a kind in messages: "upstream.gloo.solo.io"
// for grouped kinds and "secret" for the core group.
func typeName(k resource.Kind) string {
	name := strings.ToLower(string(k))
	av := resource.APIVersion(k)
	if i := strings.LastIndex(av, "/"); i > 0 {
		return name + "." + av[:i]
	}
	return name
}

// objectName is kubectl's "-o name" form: "upstream.gloo.solo.io/aws-upstream".
func objectName(o resource.Object) string {
	return typeName(o.GetKind()) + "/" + o.GetMetadata().Name
}

// toGeneric turns an object into plain JSON values, with secret values
// redacted unless showSecrets.
func toGeneric(o resource.Object, showSecrets bool) (map[string]any, error) {
	b, err := json.Marshal(o)
	if err != nil {
		return nil, fmt.Errorf("encoding %s: %w", resource.Ref(o), err)
	}
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		return nil, fmt.Errorf("encoding %s: %w", resource.Ref(o), err)
	}
	if o.GetKind() == resource.KindSecret && !showSecrets {
		for _, field := range []string{"data", "stringData"} {
			if d, ok := m[field].(map[string]any); ok {
				for k := range d {
					d[k] = redacted
				}
			}
		}
	}
	return m, nil
}

// printObjects writes objects as YAML or JSON. One object prints as itself
// when single is set; otherwise they are wrapped in a kubectl-style List.
func printObjects(w io.Writer, format string, objs []resource.Object, single, showSecrets bool) error {
	var v any
	if single && len(objs) == 1 {
		m, err := toGeneric(objs[0], showSecrets)
		if err != nil {
			return err
		}
		v = m
	} else {
		items := make([]any, 0, len(objs))
		for _, o := range objs {
			m, err := toGeneric(o, showSecrets)
			if err != nil {
				return err
			}
			items = append(items, m)
		}
		v = map[string]any{"apiVersion": "v1", "kind": "List", "items": items}
	}
	switch format {
	case "json":
		enc := json.NewEncoder(w)
		enc.SetIndent("", "    ")
		// "<redacted>" must read as itself, not "\u003credacted\u003e".
		enc.SetEscapeHTML(false)
		if err := enc.Encode(v); err != nil {
			return fmt.Errorf("encoding JSON: %w", err)
		}
		return nil
	default:
		b, err := yaml.Marshal(v)
		if err != nil {
			return fmt.Errorf("encoding YAML: %w", err)
		}
		_, err = w.Write(b)
		return err
	}
}

// table writes aligned columns like kubectl: three spaces between columns.
type table struct {
	tw *tabwriter.Writer
}

func newTable(w io.Writer, header ...string) *table {
	t := &table{tw: tabwriter.NewWriter(w, 0, 8, 3, ' ', 0)}
	t.row(header...)
	return t
}

func (t *table) row(cols ...string) {
	for i, c := range cols {
		if c == "" {
			cols[i] = "<none>"
		} else {
			cols[i] = printable(c)
		}
	}
	fmt.Fprintln(t.tw, strings.Join(cols, "\t"))
}

func (t *table) flush() error { return t.tw.Flush() }

// age renders how long ago t was in kubectl's short form: "45s", "3m20s",
// "45m", "3h20m", "23h", "3d4h", "45d", "2y30d".
func age(t *time.Time, now time.Time) string {
	if t == nil {
		return "<unknown>"
	}
	d := now.Sub(*t)
	if d < 0 {
		d = 0
	}
	s := int64(d / time.Second)
	m := int64(d / time.Minute)
	h := int64(d / time.Hour)
	days := h / 24
	switch {
	case d < 2*time.Minute:
		return fmt.Sprintf("%ds", s)
	case d < 10*time.Minute:
		if s%60 == 0 {
			return fmt.Sprintf("%dm", m)
		}
		return fmt.Sprintf("%dm%ds", m, s%60)
	case d < 3*time.Hour:
		return fmt.Sprintf("%dm", m)
	case d < 8*time.Hour:
		if m%60 == 0 {
			return fmt.Sprintf("%dh", h)
		}
		return fmt.Sprintf("%dh%dm", h, m%60)
	case d < 48*time.Hour:
		return fmt.Sprintf("%dh", h)
	case d < 8*24*time.Hour:
		if h%24 == 0 {
			return fmt.Sprintf("%dd", days)
		}
		return fmt.Sprintf("%dd%dh", days, h%24)
	case days < 2*365:
		return fmt.Sprintf("%dd", days)
	case days < 8*365:
		if days%365 == 0 {
			return fmt.Sprintf("%dy", days/365)
		}
		return fmt.Sprintf("%dy%dd", days/365, days%365)
	default:
		return fmt.Sprintf("%dy", days/365)
	}
}
