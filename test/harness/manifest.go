package harness

import "encoding/base64"

// Manifests are built as maps and applied as JSON, which is YAML: the
// tests read like the resources a user writes.

// Namespace is the namespace every built resource lives in.
const Namespace = "gloo-system"

// Obj is a manifest or a part of one.
type Obj = map[string]any

// Meta is metadata naming a resource in Namespace.
func Meta(name string) Obj { return Obj{"name": name, "namespace": Namespace} }

// AWSSecret is an AWS credentials secret in the plain Kubernetes form.
func AWSSecret(name, id, key, token string) Obj {
	data := Obj{
		"aws_access_key_id":     B64(id),
		"aws_secret_access_key": B64(key),
	}
	if token != "" {
		data["aws_session_token"] = B64(token)
	}
	return Obj{"apiVersion": "v1", "kind": "Secret", "metadata": Meta(name), "type": "Opaque", "data": data}
}

// TLSSecret is a kubernetes.io/tls secret.
func TLSSecret(name string, certPEM, keyPEM []byte) Obj {
	return Obj{"apiVersion": "v1", "kind": "Secret", "metadata": Meta(name), "type": "kubernetes.io/tls",
		"data": Obj{"tls.crt": base64.StdEncoding.EncodeToString(certPEM), "tls.key": base64.StdEncoding.EncodeToString(keyPEM)}}
}

// B64 is s in standard base64, as Secret data holds it.
func B64(s string) string { return base64.StdEncoding.EncodeToString([]byte(s)) }

// Fn is one hand-written entry of spec.aws.lambdaFunctions.
type Fn struct{ Logical, Name, Qualifier string }

// Upstream is an AWS Upstream whose Lambda endpoint is endpoint; extra
// fields (awsAccountId) are merged into spec.aws.
func Upstream(name, secret, endpoint string, fns []Fn, extra Obj) Obj {
	var list []Obj
	for _, f := range fns {
		e := Obj{"logicalName": f.Logical, "lambdaFunctionName": f.Name}
		if f.Qualifier != "" {
			e["qualifier"] = f.Qualifier
		}
		list = append(list, e)
	}
	a := Obj{"region": "us-east-1", "secretRef": Obj{"name": secret, "namespace": Namespace}, "endpointUrl": endpoint, "lambdaFunctions": list}
	for k, v := range extra {
		a[k] = v
	}
	return Obj{"apiVersion": "gloo.solo.io/v1", "kind": "Upstream", "metadata": Meta(name), "spec": Obj{"aws": a}}
}

// Route is one route: a matcher (exact or prefix path), the upstream, the
// destinationSpec.aws fields and an optional options.timeout.
type Route struct {
	Exact, Prefix string
	Upstream      string
	AWS           Obj
	Timeout       string
	Headers       []Obj // header matchers
}

func (r Route) manifest() Obj {
	m := Obj{}
	if r.Exact != "" {
		m["exact"] = r.Exact
	}
	if r.Prefix != "" {
		m["prefix"] = r.Prefix
	}
	if r.Headers != nil {
		m["headers"] = r.Headers
	}
	route := Obj{
		"matchers": []Obj{m},
		"routeAction": Obj{"single": Obj{
			"upstream":        Obj{"name": r.Upstream, "namespace": Namespace},
			"destinationSpec": Obj{"aws": r.AWS},
		}},
	}
	if r.Timeout != "" {
		route["options"] = Obj{"timeout": r.Timeout}
	}
	return route
}

// VirtualService serves routes for domains; ssl is its sslConfig or nil.
func VirtualService(name string, domains []string, ssl Obj, routes ...Route) Obj {
	var rs []Obj
	for _, r := range routes {
		rs = append(rs, r.manifest())
	}
	spec := Obj{"virtualHost": Obj{"domains": domains, "routes": rs}}
	if ssl != nil {
		spec["sslConfig"] = ssl
	}
	return Obj{"apiVersion": "gateway.solo.io/v1", "kind": "VirtualService", "metadata": Meta(name), "spec": spec}
}

// Dest builds a destinationSpec.aws: the logical name and flag=value pairs.
func Dest(logical string, kv ...any) Obj {
	o := Obj{"logicalName": logical}
	for i := 0; i+1 < len(kv); i += 2 {
		o[kv[i].(string)] = kv[i+1]
	}
	return o
}
