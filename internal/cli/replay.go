package cli

import (
	"context"
	"errors"
	"fmt"

	"github.com/spf13/cobra"

	"github.com/hoophq/hoop/session"
	"github.com/hoophq/hoop/session/replay"
)

func newReplay(g *globals) *cobra.Command {
	var (
		format string
		follow bool
		timing replay.Timing
	)
	cmd := &cobra.Command{
		Use:   "replay SESSION [--format text|json|asciicast] [--follow] [--speed N] [--no-timing] [--max-idle D]",
		Short: "Play a recorded session back",
		Long: `Play a recorded session back, verifying its chain as it goes. text reads like
a transcript of the client (psql for Postgres) and ends with the outcome and
the verification status; json prints one event per line. --follow tails a
live session through the admin API until it ends. SESSION may be "latest".
Terminal sessions (ssh) play back on stdout as the user saw them, with their
original timing (--speed, --no-timing, --max-idle), and the transcript of
commands, exit statuses and verification goes to stderr; asciicast writes
asciicast v2 for asciinema play / asciinema cat.
Exits 1 when the chain is broken (the events before the break are shown).`,
		Args: args(1, "SESSION"),
		RunE: func(cmd *cobra.Command, a []string) error {
			switch format {
			case "text", "json", "asciicast":
			default:
				return usagef("replay: --format must be text, json or asciicast, got %q", format)
			}
			ctx := cmd.Context()
			src, err := g.source()
			if err != nil {
				return err
			}
			defer src.Close()
			id, err := resolve(ctx, src, a[0])
			if err != nil {
				return err
			}
			first, err := src.Session(ctx, id)
			if err != nil {
				return err
			}
			var r replay.Renderer
			switch {
			case format == "json":
				r = replay.NewJSON(g.stdout)
			case format == "asciicast":
				r = replay.NewAsciicast(g.stdout, timing.MaxIdle)
			case replay.IsTerminal(first.Protocol):
				// The terminal on stdout, the transcript on stderr.
				timing.Sleep = replay.SleepContext(ctx.Done())
				r = replay.NewTerminal(g.stdout, g.stderr, timing)
			default:
				r = replay.NewText(g.stdout)
			}
			rep, err := play(ctx, src, id, follow, r.Event)
			if err != nil && !(follow && errors.Is(err, context.Canceled)) {
				return err
			}
			// The index entry after the records: it has the outcome of a
			// session that ended without a seal.
			info, ierr := src.Session(context.WithoutCancel(ctx), id)
			if ierr != nil {
				return ierr
			}
			if err := r.Finish(&info, rep); err != nil {
				return err
			}
			if rep.Status == session.StatusBroken {
				return &exitError{code: 1, msg: fmt.Sprintf("session %s: BROKEN at seq %d: %s", id, rep.Seq, rep.Problem)}
			}
			return nil
		},
	}
	cmd.Flags().StringVar(&format, "format", "text", "text, json or asciicast (asciicast v2, for terminal sessions)")
	cmd.Flags().Float64Var(&timing.Speed, "speed", 1, "terminal sessions: play N times faster")
	cmd.Flags().BoolVar(&timing.NoTiming, "no-timing", false, "terminal sessions: write the output at once")
	cmd.Flags().DurationVar(&timing.MaxIdle, "max-idle", 0, "terminal sessions: cap each pause (e.g. 2s); asciicast: idle_time_limit")
	cmd.Flags().BoolVar(&follow, "follow", false, "keep playing a live session as it is recorded")
	return cmd
}
