// Package cli is hoopctl: one cobra command per file, run by Run.
package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"syscall"

	"github.com/spf13/cobra"
)

// Environment variables read for the global flags' defaults.
const (
	EnvServer     = "HOOP_SERVER"
	EnvAdminToken = "HOOP_ADMIN_TOKEN"
)

// DefaultServer is the admin API's address when nothing else names one.
const DefaultServer = "http://127.0.0.1:8009"

// Run runs hoopctl with args (without the program name) and returns the exit
// status: 0, 1 for errors, 2 for usage errors.
func Run(args []string, stdout, stderr io.Writer) int {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	g := &globals{stdout: stdout, stderr: stderr}
	root := newRoot(g)
	root.SetArgs(args)
	root.SetOut(stdout)
	root.SetErr(stderr)
	err := root.ExecuteContext(ctx)
	if err == nil {
		return 0
	}
	var ee *exitError
	if errors.As(err, &ee) {
		if ee.msg != "" {
			fmt.Fprintf(stderr, "hoopctl: %s\n", ee.msg)
		}
		return ee.code
	}
	for line := range strings.SplitSeq(err.Error(), "\n") {
		fmt.Fprintf(stderr, "hoopctl: %s\n", line)
	}
	var ue *usageError
	if errors.As(err, &ue) || isCobraUsage(err) {
		fmt.Fprintf(stderr, "Run 'hoopctl --help' for usage.\n")
		return 2
	}
	return 1
}

// globals are the flags every command shares.
type globals struct {
	server, token, config, store string

	stdout, stderr io.Writer
	root           *cobra.Command
}

func newRoot(g *globals) *cobra.Command {
	root := &cobra.Command{
		Use:   "hoopctl",
		Short: "hoop: identity-aware connection broker",
		Long: `hoopctl runs the hoop broker (hoopctl serve) and talks to it.

Verbs that read recordings use the running broker's admin API (--server and
--admin-token, or --config to take both from the broker's configuration), or
read a stopped broker's store directly (--store).`,
		SilenceErrors:     true,
		SilenceUsage:      true,
		CompletionOptions: cobra.CompletionOptions{DisableDefaultCmd: true},
	}
	g.root = root
	pf := root.PersistentFlags()
	pf.StringVar(&g.server, "server", "", "admin API URL (default $"+EnvServer+" or "+DefaultServer+")")
	pf.StringVar(&g.token, "admin-token", "", "admin API token (default $"+EnvAdminToken+")")
	pf.StringVar(&g.config, "config", "", "broker configuration file (serve; else the admin API address and token are taken from it)")
	pf.StringVar(&g.store, "store", "", "read a stopped broker's store: its data dir or events.db (read-only)")
	root.SetFlagErrorFunc(func(_ *cobra.Command, err error) error { return &usageError{err} })
	root.AddCommand(
		newServe(g),
		newSessions(g),
		newReplay(g),
		newVerify(g),
		newToken(g),
		newConfig(g),
		newKubeCredential(g),
		newKubeconfig(g),
	)
	return root
}

// usageError is a mistake in the command line: exit status 2.
type usageError struct{ err error }

func (e *usageError) Error() string { return e.err.Error() }
func (e *usageError) Unwrap() error { return e.err }

func usagef(format string, args ...any) error { return &usageError{fmt.Errorf(format, args...)} }

// isCobraUsage recognises the usage errors cobra makes itself.
func isCobraUsage(err error) bool {
	s := err.Error()
	return strings.HasPrefix(s, "unknown command") || strings.HasPrefix(s, "required flag")
}

// exitError ends with a status, after a command printed its own report.
type exitError struct {
	code int
	msg  string
}

func (e *exitError) Error() string { return e.msg }

// args checks the number of positional arguments, as a usage error.
func args(n int, names string) cobra.PositionalArgs {
	return func(cmd *cobra.Command, a []string) error {
		if len(a) != n {
			return usagef("%s: want %s, got %d argument(s)", cmd.CommandPath(), names, len(a))
		}
		return nil
	}
}
