package replay

import (
	"fmt"
	"strings"

	"github.com/hoophq/hoop/session"
)

// SSH sessions are terminals; their transcripts say how each channel ended.
func init() {
	RegisterTerminal("ssh")
	RegisterText("ssh", session.KindResult, TextExit)
}

// TextExit renders the result of a remote command, a forwarded
// connection or an sftp file: its exit status or error, and its byte counts;
// other results as the generic handler does. Kubernetes exec results have
// the same shape: register it for them too.
func TextExit(t *Text, ev *session.Event) error {
	r, err := Decode[session.Result](ev)
	if err != nil {
		return err
	}
	if r.Exit == nil && r.Error == nil && r.BytesIn == 0 && r.BytesOut == 0 {
		return textResult(t, ev)
	}
	var parts []string
	switch {
	case r.Error != nil:
		parts = append(parts, ErrorLine(r.Error))
	case r.Exit != nil && r.Exit.Signal != "":
		s := "killed by signal " + r.Exit.Signal
		if r.Exit.CoreDumped {
			s += " (core dumped)"
		}
		if r.Exit.Message != "" {
			s += ": " + r.Exit.Message
		}
		parts = append(parts, s)
	case r.Exit != nil:
		parts = append(parts, fmt.Sprintf("exit status %d", r.Exit.Status))
	}
	if r.BytesIn != 0 || r.BytesOut != 0 {
		b := fmt.Sprintf("%s in, %s out", size(r.BytesIn), size(r.BytesOut))
		if r.Truncated {
			b += "; recording capped"
		}
		parts = append(parts, b)
	}
	t.Printf("%s -- #%d: %s\n", t.Stamp(ev.Time), r.Command, strings.Join(parts, "; "))
	return nil
}

// size shows a byte count the way people read it: 512 B, 1.5 KiB, 256.0 MiB.
func size(n int64) string {
	switch {
	case n < 1<<10:
		return fmt.Sprintf("%d B", n)
	case n < 1<<20:
		return fmt.Sprintf("%.1f KiB", float64(n)/(1<<10))
	case n < 1<<30:
		return fmt.Sprintf("%.1f MiB", float64(n)/(1<<20))
	}
	return fmt.Sprintf("%.1f GiB", float64(n)/(1<<30))
}
