package cli

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"time"

	"github.com/spf13/cobra"

	"github.com/hoophq/hoop/broker"
	"github.com/hoophq/hoop/config"
	"github.com/hoophq/hoop/internal/admin"
	"github.com/hoophq/hoop/session"
)

func newToken(g *globals) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "token",
		Short: "Issue broker tokens",
	}
	var (
		req     admin.TokenRequest
		ttl     time.Duration
		actors  []string
		offline bool
	)
	issue := &cobra.Command{
		Use:   "issue --user U --groups a,b --ttl 1h [--actor SUB ...]",
		Short: "Issue a token signed by the broker's key",
		Long: `Issue a token signed by the broker's key, through the admin API; with
--config FILE --offline, sign it locally with the data dir's broker.key.
Prints only the token, for PGPASSWORD=$(hoopctl token issue ...).

--actor names the agents acting for the user, nearest first; they become the
token's act claim (RFC 8693) and show in the session as "via agent".`,
		Args: args(0, "no arguments"),
		RunE: func(cmd *cobra.Command, _ []string) error {
			if req.User == "" {
				return usagef("token issue: --user is required")
			}
			req.TTL = ttl.String()
			for _, a := range actors {
				req.Actors = append(req.Actors, session.Actor{Subject: a})
			}
			var (
				resp *admin.TokenResponse
				err  error
			)
			if offline {
				resp, err = issueOffline(g, req)
			} else {
				var c *admin.Client
				if c, err = g.client(); err == nil {
					resp, err = c.IssueToken(cmd.Context(), req)
				}
			}
			if err != nil {
				return err
			}
			fmt.Fprintln(g.stdout, resp.Token)
			return nil
		},
	}
	f := issue.Flags()
	f.StringVar(&req.User, "user", "", "the token's subject (required)")
	f.StringSliceVar(&req.Groups, "groups", nil, "the user's groups, comma-separated")
	f.DurationVar(&ttl, "ttl", time.Hour, "lifetime, capped by identity.max_token_ttl")
	f.StringArrayVar(&actors, "actor", nil, "an agent acting for the user (repeat, nearest first)")
	f.StringVar(&req.Parent, "parent", "", "the session inside which the token is minted")
	f.BoolVar(&offline, "offline", false, "sign with the data dir's broker.key (needs --config) instead of asking the broker")
	cmd.AddCommand(issue)
	return cmd
}

// issueOffline signs with the key in the configuration's data dir. The key
// must exist: a new one would not be the key the broker verifies with.
func issueOffline(g *globals, req admin.TokenRequest) (*admin.TokenResponse, error) {
	if g.config == "" {
		return nil, usagef("token issue --offline needs --config FILE (the broker's configuration, for its data dir)")
	}
	cfg, err := config.LoadClient(g.config)
	if err != nil {
		return nil, err
	}
	keyPath := filepath.Join(cfg.Broker.DataDir, broker.KeyFile)
	if _, err := os.Stat(keyPath); errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("%s does not exist: start the broker once (hoopctl serve) so it creates its key", keyPath)
	}
	key, err := broker.LoadOrCreateKey(cfg.Broker.DataDir)
	if err != nil {
		return nil, err
	}
	return admin.Issue(broker.NewAuthenticator(&cfg.Identity, key), req)
}
