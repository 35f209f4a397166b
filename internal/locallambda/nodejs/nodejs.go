// Package nodejs holds the Node.js bootstrap that the local Lambda service
// runs for nodejs functions. The bootstrap speaks the Lambda Runtime API
// (AWS_LAMBDA_RUNTIME_API) with Node's built-in http module and loads the
// handler named by _HANDLER from LAMBDA_TASK_ROOT, as the managed nodejs
// runtime does.
package nodejs

import _ "embed"

// Bootstrap is the source of bootstrap.js, to be written to disk and run as
// `node bootstrap.js` with the function folder as working directory.
//
//go:embed bootstrap.js
var Bootstrap []byte
