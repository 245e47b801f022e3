package cli

import (
	"errors"
	"log/slog"

	"github.com/spf13/cobra"
	"k8s.io/klog/v2"

	"github.com/hoophq/hoop/config"
	"github.com/hoophq/hoop/internal/server"
)

func newServe(g *globals) *cobra.Command {
	return &cobra.Command{
		Use:   "serve --config FILE",
		Short: "Run the broker",
		Long: `Run the broker: every connection's listener and the admin API, until SIGINT or
SIGTERM. Logs go to stderr at broker.log_level.`,
		Args: args(0, "no arguments"),
		RunE: func(cmd *cobra.Command, _ []string) error {
			if g.config == "" {
				return usagef("serve: --config FILE is required")
			}
			cfg, err := config.Load(g.config)
			if err != nil {
				return err
			}
			var level slog.Level
			if err := level.UnmarshalText([]byte(cfg.Broker.LogLevel)); err != nil {
				return err
			}
			log := slog.New(slog.NewTextHandler(g.stderr, &slog.HandlerOptions{Level: level}))
			// The Kubernetes streaming libraries log through klog on rare
			// failure paths; route that into the broker's log.
			klog.SetSlogLogger(log.With("component", "k8s.io"))
			ctx := cmd.Context()
			s, err := server.Start(ctx, cfg, log)
			if err != nil {
				return err
			}
			log.Info("broker started", "broker", cfg.Broker.ID, "admin", s.AdminAddr(), "data_dir", cfg.Broker.DataDir)
			werr := s.Wait(ctx)
			if werr != nil {
				log.Error("stopping after a listener failed", "err", werr)
			} else {
				log.Info("stopping")
			}
			return errors.Join(werr, s.Close())
		},
	}
}
