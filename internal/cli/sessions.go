package cli

import (
	"encoding/json"
	"fmt"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/hoophq/hoop/internal/admin"
	"github.com/hoophq/hoop/session"
	"github.com/hoophq/hoop/session/replay"
)

func newSessions(g *globals) *cobra.Command {
	var (
		f      admin.Filter
		since  string
		asJSON bool
	)
	cmd := &cobra.Command{
		Use:   "sessions [--connection C] [--user U] [--since 1h] [--json]",
		Short: "List recorded sessions, newest first",
		Long: `List recorded sessions, newest first: who (and through which agents), to which
connection, from where, how long, and how each ended — ok, error, denied,
killed (cut by a stop of the broker), or live.`,
		Args: args(0, "no arguments"),
		RunE: func(cmd *cobra.Command, _ []string) error {
			if since != "" {
				t, err := admin.ParseSince(since, time.Now())
				if err != nil {
					return usagef("--%s", err)
				}
				f.Since = t
			}
			src, err := g.source()
			if err != nil {
				return err
			}
			defer src.Close()
			list, err := src.Sessions(cmd.Context(), f)
			if err != nil {
				return err
			}
			if asJSON {
				enc := json.NewEncoder(g.stdout)
				enc.SetIndent("", "  ")
				return enc.Encode(list)
			}
			writeSessions(g, list, src.Live())
			return nil
		},
	}
	fl := cmd.Flags()
	fl.StringVar(&f.Connection, "connection", "", "only sessions of this connection")
	fl.StringVar(&f.User, "user", "", "only sessions of this user (subject, name or email) or agent")
	fl.StringVar(&since, "since", "", "only sessions started since: a duration back (1h) or an RFC 3339 time")
	fl.IntVar(&f.Limit, "limit", admin.DefaultLimit, "at most this many sessions (0: all)")
	fl.BoolVar(&asJSON, "json", false, "print the sessions as JSON")
	return cmd
}

func writeSessions(g *globals, list []session.Info, live bool) {
	tw := tabwriter.NewWriter(g.stdout, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "ID\tSTARTED\tUSER\tCONNECTION\tPROTOCOL\tCLIENT\tDURATION\tOUTCOME")
	for i := range list {
		s := &list[i]
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n",
			s.ID, s.Started.Local().Format("2006-01-02 15:04:05"), user(s), s.Connection, s.Protocol,
			dash(s.ClientAddr), duration(s), outcome(s, live))
	}
	tw.Flush()
}

func user(s *session.Info) string {
	p := &s.Principal
	u := p.Subject
	switch {
	case p.Name != "":
		u = p.Name
	case p.Email != "":
		u = p.Email
	case u == "":
		u = "-"
	}
	if len(s.Actors) > 0 {
		u += " " + replay.ActorChain(s.Actors)
	}
	return u
}

func duration(s *session.Info) string {
	if s.Ended.IsZero() {
		return "-"
	}
	d := s.Ended.Sub(s.Started)
	switch {
	case d < time.Second:
		return d.Round(time.Millisecond).String()
	case d < time.Minute:
		return d.Round(100 * time.Millisecond).String()
	}
	return d.Round(time.Second).String()
}

func outcome(s *session.Info, live bool) string {
	switch {
	case s.Outcome == "" && live:
		return "live"
	case s.Outcome == "":
		return "unended"
	case s.Outcome == session.OutcomeKilled && strings.HasPrefix(s.Reason, "cut:"):
		return "killed (cut)"
	case s.Outcome == session.OutcomeOK || s.Reason == "":
		return string(s.Outcome)
	}
	r := s.Reason
	if n := []rune(r); len(n) > 48 {
		r = string(n[:47]) + "…"
	}
	return fmt.Sprintf("%s: %s", s.Outcome, r)
}

func dash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}
