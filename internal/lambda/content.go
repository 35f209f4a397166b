package lambda

import (
	"bytes"
	"compress/gzip"
	"compress/zlib"
	"io"
	"strconv"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
)

// decodeContent undoes the content coding of Lambda's answer: the
// client's response and the unwrappers need the function's bytes, and
// the Content-Encoding header is not passed on. The Invoke API sends no
// coding (the gateway sends no Accept-Encoding); an endpoint that still
// does gets gzip and deflate decoded, within Lambda's response limit,
// and any other coding refused.
func decodeContent(coding string, body []byte) ([]byte, error) {
	var zr io.Reader
	var err error
	switch strings.ToLower(strings.TrimSpace(coding)) {
	case "", "identity":
		return body, nil
	case "gzip", "x-gzip":
		zr, err = gzip.NewReader(bytes.NewReader(body))
	case "deflate":
		zr, err = zlib.NewReader(bytes.NewReader(body))
	default:
		return nil, &Error{Kind: KindUnreachable, Message: "Lambda's answer has the unsupported Content-Encoding " + strconv.Quote(truncate(coding, 32)) + " (gzip and deflate are decoded)"}
	}
	var out []byte
	if err == nil {
		out, err = io.ReadAll(io.LimitReader(zr, maxResponseBody+1))
	}
	switch {
	case err != nil:
		return nil, &Error{Kind: KindUnreachable, Message: "Lambda's answer does not decode as its Content-Encoding " + strconv.Quote(truncate(coding, 32)), Err: err}
	case len(out) > maxResponseBody:
		return nil, &Error{Kind: KindResponseTooLarge, Message: "function response larger than 6 MB"}
	}
	return out, nil
}

// checkCredentials refuses credentials that cannot be written into a
// request: a control byte (CR, LF...) in the key id or the session token
// would end the header it is written in and inject others. The error
// names the field, never the value.
func checkCredentials(c aws.Credentials) error {
	for _, f := range []struct{ name, value string }{
		{"access key id (aws_access_key_id)", c.AccessKeyID},
		{"session token (aws_session_token)", c.SessionToken},
	} {
		if !validHeaderValue(f.value) {
			return &Error{Kind: KindNoCredentials, Message: "the upstream's " + f.name + " holds a control character (CR, LF or another byte below 0x20, or DEL); it cannot be sent"}
		}
	}
	return nil
}
