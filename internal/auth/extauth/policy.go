package extauth

import (
	"encoding/json"
	"strings"
)

// statement is one IAM policy statement of an authorizer's
// policyDocument, reduced to what API Gateway evaluates.
type statement struct {
	allow     bool
	actions   []string
	resources []string
}

// parsePolicy reads a policyDocument: Statement is one statement or a
// list; Action and Resource are a string or a list of strings; Effect is
// Allow or Deny. Anything else makes the answer invalid.
func parsePolicy(raw json.RawMessage) ([]statement, bool) {
	var doc struct {
		Statement json.RawMessage `json:"Statement"`
	}
	if json.Unmarshal(raw, &doc) != nil || len(doc.Statement) == 0 {
		return nil, false
	}
	type rawStatement struct {
		Effect   string          `json:"Effect"`
		Action   json.RawMessage `json:"Action"`
		Resource json.RawMessage `json:"Resource"`
	}
	var list []rawStatement
	if json.Unmarshal(doc.Statement, &list) != nil {
		var one rawStatement
		if json.Unmarshal(doc.Statement, &one) != nil {
			return nil, false
		}
		list = []rawStatement{one}
	}
	if len(list) == 0 {
		return nil, false
	}
	out := make([]statement, 0, len(list))
	for _, rs := range list {
		var st statement
		switch {
		case strings.EqualFold(rs.Effect, "Allow"):
			st.allow = true
		case strings.EqualFold(rs.Effect, "Deny"):
		default:
			return nil, false
		}
		var ok1, ok2 bool
		st.actions, ok1 = stringOrList(rs.Action)
		st.resources, ok2 = stringOrList(rs.Resource)
		if !ok1 || !ok2 {
			return nil, false
		}
		// IAM action names are case-insensitive: lowered once here.
		for i, a := range st.actions {
			st.actions[i] = strings.ToLower(a)
		}
		out = append(out, st)
	}
	return out, true
}

func stringOrList(raw json.RawMessage) ([]string, bool) {
	if len(raw) == 0 {
		return nil, false
	}
	var one string
	if json.Unmarshal(raw, &one) == nil {
		return []string{one}, true
	}
	var list []string
	if json.Unmarshal(raw, &list) == nil && len(list) > 0 {
		return list, true
	}
	return nil, false
}

// invokeAction is the action a policy must allow, lowered (actions are
// lowered when a policy is read).
const invokeAction = "execute-api:invoke"

// evaluate applies IAM's rule to the request's ARN: an explicit Deny
// wins, else an Allow is needed; no matching statement denies.
func evaluate(policy []statement, arn string) bool {
	allowed := false
	for i := range policy {
		st := &policy[i]
		if !matchAny(st.actions, invokeAction) || !matchAny(st.resources, arn) {
			continue
		}
		if !st.allow {
			return false
		}
		allowed = true
	}
	return allowed
}

func matchAny(patterns []string, s string) bool {
	for _, p := range patterns {
		if wildcard(p, s) {
			return true
		}
	}
	return false
}

// wildcard matches IAM's patterns: '*' any run of characters (none
// included), '?' any one character.
func wildcard(p, s string) bool {
	px, sx := 0, 0
	star, mark := -1, 0
	for sx < len(s) {
		switch {
		case px < len(p) && (p[px] == '?' || p[px] == s[sx]):
			px++
			sx++
		case px < len(p) && p[px] == '*':
			star, mark = px, sx
			px++
		case star >= 0:
			px = star + 1
			mark++
			sx = mark
		default:
			return false
		}
	}
	for px < len(p) && p[px] == '*' {
		px++
	}
	return px == len(p)
}
