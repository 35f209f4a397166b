package chaos

import "encoding/base64"

// Manifests are built as maps and applied as JSON, which is YAML: the
// tests read like the resources a user writes.

const ns = "gloo-system"

type obj = map[string]any

func meta(name string) obj { return obj{"name": name, "namespace": ns} }

// awsSecret is an AWS credentials secret in the plain Kubernetes form.
func awsSecret(name, id, key, token string) obj {
	data := obj{
		"aws_access_key_id":     b64(id),
		"aws_secret_access_key": b64(key),
	}
	if token != "" {
		data["aws_session_token"] = b64(token)
	}
	return obj{"apiVersion": "v1", "kind": "Secret", "metadata": meta(name), "type": "Opaque", "data": data}
}

// tlsSecret is a kubernetes.io/tls secret.
func tlsSecret(name string, certPEM, keyPEM []byte) obj {
	return obj{"apiVersion": "v1", "kind": "Secret", "metadata": meta(name), "type": "kubernetes.io/tls",
		"data": obj{"tls.crt": base64.StdEncoding.EncodeToString(certPEM), "tls.key": base64.StdEncoding.EncodeToString(keyPEM)}}
}

func b64(s string) string { return base64.StdEncoding.EncodeToString([]byte(s)) }

// fn is one hand-written entry of spec.aws.lambdaFunctions.
type fn struct{ logical, name, qualifier string }

// upstream is an AWS upstream whose Lambda endpoint is endpoint; extra
// fields (awsAccountId) are merged into spec.aws.
func upstream(name, secret, endpoint string, fns []fn, extra obj) obj {
	var list []obj
	for _, f := range fns {
		e := obj{"logicalName": f.logical, "lambdaFunctionName": f.name}
		if f.qualifier != "" {
			e["qualifier"] = f.qualifier
		}
		list = append(list, e)
	}
	a := obj{"region": "us-east-1", "secretRef": obj{"name": secret, "namespace": ns}, "endpointUrl": endpoint, "lambdaFunctions": list}
	for k, v := range extra {
		a[k] = v
	}
	return obj{"apiVersion": "gloo.solo.io/v1", "kind": "Upstream", "metadata": meta(name), "spec": obj{"aws": a}}
}

// rt is one route: a matcher (exact or prefix path), the upstream, the
// destinationSpec.aws fields and an optional options.timeout.
type rt struct {
	exact, prefix string
	upstream      string
	aws           obj
	timeout       string
	headers       []obj // header matchers
}

func (r rt) manifest() obj {
	m := obj{}
	if r.exact != "" {
		m["exact"] = r.exact
	}
	if r.prefix != "" {
		m["prefix"] = r.prefix
	}
	if r.headers != nil {
		m["headers"] = r.headers
	}
	route := obj{
		"matchers": []obj{m},
		"routeAction": obj{"single": obj{
			"upstream":        obj{"name": r.upstream, "namespace": ns},
			"destinationSpec": obj{"aws": r.aws},
		}},
	}
	if r.timeout != "" {
		route["options"] = obj{"timeout": r.timeout}
	}
	return route
}

// virtualService serves routes for domains; ssl is its sslConfig or nil.
func virtualService(name string, domains []string, ssl obj, routes ...rt) obj {
	var rs []obj
	for _, r := range routes {
		rs = append(rs, r.manifest())
	}
	spec := obj{"virtualHost": obj{"domains": domains, "routes": rs}}
	if ssl != nil {
		spec["sslConfig"] = ssl
	}
	return obj{"apiVersion": "gateway.solo.io/v1", "kind": "VirtualService", "metadata": meta(name), "spec": spec}
}

// aws builds a destinationSpec.aws: the logical name and flag=value pairs.
func dest(logical string, kv ...any) obj {
	o := obj{"logicalName": logical}
	for i := 0; i+1 < len(kv); i += 2 {
		o[kv[i].(string)] = kv[i+1]
	}
	return o
}
