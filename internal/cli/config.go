package cli

import (
	"errors"
	"fmt"

	"github.com/spf13/cobra"

	"github.com/hoophq/hoop/config"
)

func newConfig(g *globals) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "config",
		Short: "Work with broker configuration files",
	}
	cmd.AddCommand(&cobra.Command{
		Use:   "check FILE",
		Short: "Validate a configuration file",
		Long: `Validate a configuration file: decode it strictly, resolve its secret
references and check every field. Prints "FILE: ok (N connections)", or every
error as file:line: field: message and exits 1.`,
		Args: args(1, "FILE"),
		RunE: func(_ *cobra.Command, a []string) error {
			cfg, err := config.Load(a[0])
			var errs config.Errors
			switch {
			case errors.As(err, &errs):
				for _, e := range errs {
					fmt.Fprintln(g.stderr, e)
				}
				return &exitError{code: 1}
			case err != nil:
				return err
			}
			fmt.Fprintf(g.stdout, "%s: ok (%d connections)\n", a[0], len(cfg.Connections))
			return nil
		},
	})
	return cmd
}
