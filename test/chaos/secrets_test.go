package chaos

import "encoding/json"

// Every credential of the suite carries a marker, so that grepping all
// output for the markers finds any leak of any of them.
const (
	chaosKeyID  = "AKIDCHAOS000000000"
	chaosSecret = "chaosSECRETkey/must+never+show"
	chaosToken  = "chaosSESSIONtoken//must+never+show=="
)

// secretMarkers are searched for in every output of the suite.
var secretMarkers = []string{"chaosSECRETkey", "chaosSESSIONtoken", "rotSECRET"}

func jsonUnmarshal(b []byte, v any) error { return json.Unmarshal(b, v) }
