// Command hoopctl runs the hoop broker (hoopctl serve) and talks to it:
// sessions, replay, verify, token issue, config check. The commands live in
// internal/cli.
package main

import (
	"os"

	"github.com/hoophq/hoop/internal/cli"
)

func main() {
	os.Exit(cli.Run(os.Args[1:], os.Stdout, os.Stderr))
}
