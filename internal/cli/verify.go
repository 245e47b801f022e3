package cli

import (
	"fmt"

	"github.com/spf13/cobra"

	"github.com/hoophq/hoop/internal/admin"
	"github.com/hoophq/hoop/session"
)

func newVerify(g *globals) *cobra.Command {
	var all, strict bool
	cmd := &cobra.Command{
		Use:   "verify SESSION | --all",
		Short: "Check sessions' hash chains and seals",
		Long: `Recompute each session's hash chain and check its seal. Prints one line per
session: sealed, unsealed (no session.end: live, or cut by a crash; the chain
is intact) or BROKEN at the first altered record. Exits 1 when a session is
broken, and with --strict also when one is unsealed. SESSION may be "latest".`,
		Args: func(cmd *cobra.Command, a []string) error {
			if all == (len(a) == 1) || len(a) > 1 {
				return usagef("verify: want one SESSION or --all")
			}
			return nil
		},
		RunE: func(cmd *cobra.Command, a []string) error {
			ctx := cmd.Context()
			src, err := g.source()
			if err != nil {
				return err
			}
			defer src.Close()
			var ids []string
			if all {
				list, err := src.Sessions(ctx, admin.Filter{})
				if err != nil {
					return err
				}
				for _, info := range list {
					ids = append(ids, info.ID)
				}
			} else {
				id, err := resolve(ctx, src, a[0])
				if err != nil {
					return err
				}
				if _, err := src.Session(ctx, id); err != nil {
					return err
				}
				ids = []string{id}
			}
			broken, unsealed := 0, 0
			for _, id := range ids {
				rep, err := play(ctx, src, id, false, nil)
				if err != nil {
					return err
				}
				fmt.Fprintln(g.stdout, rep)
				switch rep.Status {
				case session.StatusBroken:
					broken++
				case session.StatusUnsealed:
					unsealed++
				}
			}
			switch {
			case broken > 0:
				return &exitError{code: 1, msg: fmt.Sprintf("%d of %d sessions broken", broken, len(ids))}
			case strict && unsealed > 0:
				return &exitError{code: 1, msg: fmt.Sprintf("%d of %d sessions unsealed (--strict)", unsealed, len(ids))}
			}
			return nil
		},
	}
	cmd.Flags().BoolVar(&all, "all", false, "verify every session")
	cmd.Flags().BoolVar(&strict, "strict", false, "fail on unsealed sessions too")
	return cmd
}
