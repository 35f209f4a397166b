// Command lambdagate is an edge gateway that routes HTTP straight to AWS
// Lambda, configured with Gloo Edge's Upstream and VirtualService resources,
// and the CLI that manages those resources.
package main

import (
	"os"

	"github.com/lambdagate/lambdagate/internal/cli"
)

func main() {
	os.Exit(cli.Execute())
}
