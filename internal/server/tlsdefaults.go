package server

import "crypto/tls"

// tls12CipherSuites are the TLS 1.2 suites the HTTPS listener accepts:
// ECDHE with AEAD only (Mozilla's "intermediate" profile). Go's defaults
// also offer the CBC-SHA1 suites. TLS 1.3 suites are not configurable.
var tls12CipherSuites = []uint16{
	tls.TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256,
	tls.TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256,
	tls.TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384,
	tls.TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384,
	tls.TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256,
	tls.TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256,
}
