package chaos

import "encoding/pem"

// pemDecode returns the DER bytes of the first PEM block in b (nil when
// there is none) and what follows it.
func pemDecode(b []byte) ([]byte, []byte) {
	block, rest := pem.Decode(b)
	if block == nil {
		return nil, rest
	}
	return block.Bytes, rest
}
