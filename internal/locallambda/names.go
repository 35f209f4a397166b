package locallambda

import (
	"fmt"
	"strings"
)

// functionRef is a parsed FunctionName parameter.
type functionRef struct {
	Name      string
	Qualifier string // "" when the reference carries none
}

// parseFunctionRef accepts the forms the Lambda API accepts for
// FunctionName: "name", "name:qualifier", "account:function:name[:qualifier]"
// and "arn:aws:lambda:region:account:function:name[:qualifier]" (any AWS
// partition). Region and account are not compared with the server's: a
// gateway configured with a real account ID must still reach local
// functions.
func parseFunctionRef(s string) (functionRef, error) {
	if s == "" {
		return functionRef{}, fmt.Errorf("function name: must not be empty")
	}
	parts := strings.Split(s, ":")
	var rest []string
	switch {
	case strings.HasPrefix(s, "arn:"):
		// arn:partition:lambda:region:account:function:name[:qualifier]
		if len(parts) < 7 || len(parts) > 8 || parts[2] != "lambda" || parts[5] != "function" || !strings.HasPrefix(parts[1], "aws") {
			return functionRef{}, fmt.Errorf("function ARN %q: want arn:aws:lambda:region:account:function:name[:qualifier]", s)
		}
		rest = parts[6:]
	case len(parts) >= 3 && parts[1] == "function":
		if len(parts) > 4 {
			return functionRef{}, fmt.Errorf("partial function ARN %q: want account:function:name[:qualifier]", s)
		}
		rest = parts[2:]
	default:
		if len(parts) > 2 {
			return functionRef{}, fmt.Errorf("function name %q: want name or name:qualifier", s)
		}
		rest = parts
	}
	ref := functionRef{Name: rest[0]}
	if len(rest) == 2 {
		ref.Qualifier = rest[1]
		if ref.Qualifier == "" {
			return functionRef{}, fmt.Errorf("function name %q: empty qualifier after ':'", s)
		}
	}
	if !functionNameRE.MatchString(ref.Name) {
		return functionRef{}, fmt.Errorf("function name %q: must match [a-zA-Z0-9_-]{1,64}", ref.Name)
	}
	return ref, nil
}

// functionARN is the unqualified ARN of a function, or the qualified one when
// qualifier is set.
func (s *Server) functionARN(name, qualifier string) string {
	arn := "arn:aws:lambda:" + s.opts.Region + ":" + s.opts.AccountID + ":function:" + name
	if qualifier != "" {
		arn += ":" + qualifier
	}
	return arn
}
