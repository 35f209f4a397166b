package transform

import (
	"encoding/base64"
	"encoding/json"
	"strings"
	"testing"
)

// A 1 MB body through wrapAsApiGateway (payload 1.0) and back out of
// unwrapAsApiGateway: JSON text and binary (base64) bodies.
func BenchmarkAPIGatewayV1Event1MB(b *testing.B) {
	for _, tc := range []struct{ name, ct string }{{"json", "application/json"}, {"binary", "application/octet-stream"}} {
		b.Run(tc.name, func(b *testing.B) {
			r := benchRequest()
			r.Header.Set("Content-Type", tc.ct)
			r.Body = []byte(`{"data":"` + strings.Repeat("x", 1<<20-11) + `"}`)
			b.SetBytes(int64(len(r.Body)))
			b.ReportAllocs()
			for b.Loop() {
				if _, err := APIGatewayV1Event(r); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

func BenchmarkUnwrapAPIGatewayV1_1MB(b *testing.B) {
	body := strings.Repeat("x", 1<<20)
	for _, tc := range []struct {
		name string
		b64  bool
	}{{"text", false}, {"base64", true}} {
		b.Run(tc.name, func(b *testing.B) {
			v := body
			if tc.b64 {
				v = base64.StdEncoding.EncodeToString([]byte(body))
			}
			p, err := json.Marshal(map[string]any{"statusCode": 200, "headers": map[string]string{"Content-Type": "application/json"}, "body": v, "isBase64Encoded": tc.b64})
			if err != nil {
				b.Fatal(err)
			}
			b.SetBytes(1 << 20)
			b.ReportAllocs()
			for b.Loop() {
				if _, err := UnwrapAPIGatewayV1(p); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
