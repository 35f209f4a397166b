package locallambda

import (
	"fmt"
	"os"
	"regexp"

	"sigs.k8s.io/yaml"
)

// CredentialsFile is the file `lambdagate lambda serve --credentials-file`
// (and `serve --local-lambda-credentials-file`) reads to turn on signature
// checks, so the right-key, wrong-key and AccessDenied paths can be tried
// locally:
//
//	region: us-east-1
//	accessKeys:
//	  - accessKeyId: AKIDLOCAL
//	    secretAccessKey: local-secret
//	    sessionToken: optional-token
type CredentialsFile struct {
	// Region is the region requests must be signed for. Default: us-east-1.
	Region string `json:"region,omitempty"`
	// AccessKeys are the keys requests may be signed with; at least one.
	AccessKeys []CredentialsFileKey `json:"accessKeys"`
}

// CredentialsFileKey is one accepted access key.
type CredentialsFileKey struct {
	// AccessKeyID is the key's ID. Required.
	AccessKeyID string `json:"accessKeyId"`
	// SecretAccessKey is the key's secret. Required.
	SecretAccessKey string `json:"secretAccessKey"`
	// SessionToken, when set, must come with every request signed with this
	// key (X-Amz-Security-Token). Default: none required.
	SessionToken string `json:"sessionToken,omitempty"`
}

var (
	accessKeyIDRE = regexp.MustCompile(`^[A-Za-z0-9]{1,128}$`)
	regionRE      = regexp.MustCompile(`^[a-z]{2}(-[a-z]+)+-[0-9]{1,2}$`)
)

// LoadCredentialsFile reads path and applies it to opts: Credentials,
// SessionTokens and Region.
func LoadCredentialsFile(path string, opts *Options) error {
	data, err := os.ReadFile(path)
	if err != nil {
		return fmt.Errorf("credentials file: %w", err)
	}
	f, err := parseCredentialsFile(data)
	if err != nil {
		return fmt.Errorf("credentials file %s: %w", path, err)
	}
	opts.Region = f.Region
	opts.Credentials = map[string]string{}
	opts.SessionTokens = map[string]string{}
	for _, k := range f.AccessKeys {
		opts.Credentials[k.AccessKeyID] = k.SecretAccessKey
		if k.SessionToken != "" {
			opts.SessionTokens[k.AccessKeyID] = k.SessionToken
		}
	}
	return nil
}

// parseCredentialsFile decodes strictly and validates; error messages name
// the field and never contain a secret.
func parseCredentialsFile(data []byte) (*CredentialsFile, error) {
	var f CredentialsFile
	if err := yaml.UnmarshalStrict(data, &f); err != nil {
		return nil, fmt.Errorf("decoding: %w", err)
	}
	if f.Region == "" {
		f.Region = "us-east-1"
	}
	if !regionRE.MatchString(f.Region) {
		return nil, fmt.Errorf("region %q: must be an AWS region name such as us-east-1", f.Region)
	}
	if len(f.AccessKeys) == 0 {
		return nil, fmt.Errorf("accessKeys: list at least one key (accessKeyId, secretAccessKey)")
	}
	seen := map[string]bool{}
	for i, k := range f.AccessKeys {
		if !accessKeyIDRE.MatchString(k.AccessKeyID) {
			return nil, fmt.Errorf("accessKeys[%d].accessKeyId %q: must be 1 to 128 letters and digits", i, k.AccessKeyID)
		}
		if seen[k.AccessKeyID] {
			return nil, fmt.Errorf("accessKeys[%d].accessKeyId %q: listed twice", i, k.AccessKeyID)
		}
		seen[k.AccessKeyID] = true
		if k.SecretAccessKey == "" {
			return nil, fmt.Errorf("accessKeys[%d].secretAccessKey: required", i)
		}
	}
	return &f, nil
}
