package replay

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/hoophq/hoop/session"
)

// TextHandler renders one event into t (with t.Printf and friends).
type TextHandler func(t *Text, ev *session.Event) error

type handlerKey struct {
	protocol string
	kind     session.Kind
}

// textHandlers is written by RegisterText from init functions only.
var textHandlers = map[handlerKey]TextHandler{}

// RegisterText makes h render the events of kind in sessions of protocol.
// Protocol "" registers the fallback for every protocol without its own
// handler. Call it from an init function.
func RegisterText(protocol string, kind session.Kind, h TextHandler) {
	textHandlers[handlerKey{protocol, kind}] = h
}

func init() {
	RegisterText("", session.KindStart, textStart)
	RegisterText("", session.KindEnd, textEnd)
	RegisterText("", session.KindCommand, textCommand)
	RegisterText("", session.KindResult, textResult)
	RegisterText("", session.KindPolicy, textPolicy)
	RegisterText("", session.KindError, textError)
	RegisterText("", session.KindOutput, textOutput)
	RegisterText("", session.KindInput, textSilent)
	RegisterText("", session.KindResize, textSilent)
}

// Text renders a session as a transcript: a header, each event as it would
// have read on the client's screen, and a footer with the outcome and the
// verification status. Times are UTC, offsets from the session's start.
type Text struct {
	w    io.Writer
	buf  bytes.Buffer // one event's text, written out whole
	info session.Info // from session.start
	end  *session.End
	last time.Time // time of the last event

	// State shared with protocol handlers.
	commands map[uint64]*session.Command // recent commands, for results that refer to them
	current  uint64                      // the command whose output is being shown
	fresh    bool                        // nothing written since the last blank line
}

// NewText returns a renderer writing to w.
func NewText(w io.Writer) *Text {
	return &Text{w: w, commands: map[uint64]*session.Command{}}
}

// Event renders ev with the handler registered for its session's protocol
// and kind, or the generic one.
func (t *Text) Event(ev *session.Event) error {
	h := textHandlers[handlerKey{t.info.Protocol, ev.Kind}]
	if h == nil {
		h = textHandlers[handlerKey{"", ev.Kind}]
	}
	if h == nil {
		h = textUnknown
	}
	t.buf.Reset()
	if err := h(t, ev); err != nil {
		return fmt.Errorf("replay: %s event %d: %w", ev.Kind, ev.Seq, err)
	}
	t.last = ev.Time
	_, err := t.w.Write(t.buf.Bytes())
	return err
}

// Block starts a block of the transcript (a command and its output, a
// notification): a blank line separates it from what came before.
func (t *Text) Block() {
	if !t.fresh {
		t.buf.WriteByte('\n')
	}
	t.fresh = false
}

// Printf adds to the current event's text.
func (t *Text) Printf(format string, args ...any) { fmt.Fprintf(&t.buf, format, args...) }

// Write adds raw bytes to the current event's text.
func (t *Text) Write(p []byte) (int, error) { return t.buf.Write(p) }

// Info is the session as session.start described it.
func (t *Text) Info() *session.Info { return &t.info }

// User is the name the transcript shows for the principal.
func (t *Text) User() string {
	p := &t.info.Principal
	switch {
	case p.Name != "":
		return p.Name
	case p.Email != "":
		return p.Email
	case p.Subject != "":
		return p.Subject
	}
	return "?"
}

// Stamp is the event's time and its offset from the session's start:
// "[15:04:05.123 +1.234s]".
func (t *Text) Stamp(ts time.Time) string {
	return fmt.Sprintf("[%s +%s]", ts.UTC().Format("15:04:05.000"), Offset(ts.Sub(t.info.Started)))
}

// Offset formats a duration since the start: 1.234s, 2m03.400s, 1h02m03.400s.
func Offset(d time.Duration) string {
	if d < 0 {
		d = 0
	}
	h, m := d/time.Hour, (d%time.Hour)/time.Minute
	s := float64(d%time.Minute) / float64(time.Second)
	switch {
	case h > 0:
		return fmt.Sprintf("%dh%02dm%06.3fs", h, m, s)
	case m > 0:
		return fmt.Sprintf("%dm%06.3fs", m, s)
	}
	return fmt.Sprintf("%.3fs", s)
}

// Remember keeps a command for the results that refer to it, and makes it
// the current one.
func (t *Text) Remember(seq uint64, c *session.Command) {
	t.commands[seq] = c
	t.current = seq
	const keep = 256 // results refer to recent commands only
	if len(t.commands) > 2*keep {
		for s := range t.commands {
			if s+keep < seq {
				delete(t.commands, s)
			}
		}
	}
}

// Command returns a remembered command, or nil.
func (t *Text) Command(seq uint64) *session.Command { return t.commands[seq] }

// ResultOf prepares the output of command seq: when another command's output
// came in between, it says which command this output answers.
func (t *Text) ResultOf(seq uint64) {
	if seq == 0 || seq == t.current {
		return
	}
	t.current = seq
	if c := t.commands[seq]; c != nil {
		t.Printf("-- result of #%d: %s\n", seq, firstLine(c.Text))
	} else {
		t.Printf("-- result of #%d\n", seq)
	}
}

func firstLine(s string) string {
	s = strings.TrimSpace(s)
	if i := strings.IndexByte(s, '\n'); i >= 0 {
		return s[:i] + " ..."
	}
	return s
}

// Decode unmarshals an event's payload.
func Decode[T any](ev *session.Event) (*T, error) {
	var v T
	if err := json.Unmarshal(ev.Payload, &v); err != nil {
		return nil, fmt.Errorf("payload: %w", err)
	}
	return &v, nil
}

// Finish writes the footer: how the session ended and what verification
// found.
func (t *Text) Finish(idx *session.Info, rep session.Report) error {
	t.buf.Reset()
	t.Block()
	switch {
	case t.end != nil:
		t.Printf("-- session ended %s: %s", t.Stamp(t.last), t.end.Outcome)
		if t.end.Reason != "" {
			t.Printf(" (%s)", t.end.Reason)
		}
		t.Printf("\n")
	case idx != nil && idx.Outcome != "":
		t.Printf("-- session ended without session.end: %s", idx.Outcome)
		if idx.Reason != "" {
			t.Printf(" (%s)", idx.Reason)
		}
		t.Printf("\n")
	case rep.Status != session.StatusBroken:
		t.Printf("-- session has not ended (live, or cut by a crash of the broker)\n")
	}
	switch rep.Status {
	case session.StatusSealed:
		key := ""
		if t.end != nil && t.end.Key != "" {
			key = ", key " + t.end.Key
		}
		t.Printf("-- verification: sealed (%d records, chain intact, seal verified%s)\n", rep.Records, key)
	case session.StatusUnsealed:
		t.Printf("-- verification: unsealed (%d records, chain intact, no seal)\n", rep.Records)
	default:
		t.Printf("-- verification: BROKEN at seq %d: %s\n", rep.Seq, rep.Problem)
		t.Printf("-- only the %d records before it verified and are shown\n", rep.Records)
	}
	_, err := t.w.Write(t.buf.Bytes())
	return err
}

// Generic handlers.

func textStart(t *Text, ev *session.Event) error {
	info, err := Decode[session.Info](ev)
	if err != nil {
		return err
	}
	t.info = *info
	row := func(k, format string, args ...any) { t.Printf("%-11s %s\n", k, fmt.Sprintf(format, args...)) }
	row("Session", "%s", info.ID)
	row("Connection", "%s (%s)", info.Connection, info.Protocol)
	user := info.Principal.Subject
	switch n := t.User(); {
	case user == "":
		user = "(none: the token did not verify)"
	case n != user:
		user = fmt.Sprintf("%s (%s)", n, user)
	}
	if info.Principal.Issuer != "" {
		user += "  issuer " + info.Principal.Issuer
	}
	row("User", "%s", user)
	if len(info.Principal.Groups) > 0 {
		row("Groups", "%s", strings.Join(info.Principal.Groups, ", "))
	}
	if len(info.Actors) > 0 {
		row("Actors", "%s", ActorChain(info.Actors))
	}
	if info.Parent != "" {
		row("Parent", "%s", info.Parent)
	}
	if info.ClientAddr != "" {
		row("Client", "%s", info.ClientAddr)
	}
	if info.BrokerID != "" {
		row("Broker", "%s", info.BrokerID)
	}
	row("Started", "%s", info.Started.UTC().Format("2006-01-02 15:04:05.000 MST"))
	if len(info.Meta) > 0 {
		var meta []string
		for _, k := range slices.Sorted(maps.Keys(info.Meta)) {
			meta = append(meta, k+"="+info.Meta[k])
		}
		row("Meta", "%s", strings.Join(meta, " "))
	}
	t.Printf("\n")
	t.fresh = true
	return nil
}

// ActorChain shows a delegation chain, nearest agent first:
// "via deploy-bot ← ci-runner".
func ActorChain(actors []session.Actor) string {
	subs := make([]string, len(actors))
	for i, a := range actors {
		subs[i] = a.Subject
	}
	return "via " + strings.Join(subs, " ← ")
}

func textEnd(t *Text, ev *session.Event) error {
	end, err := Decode[session.End](ev)
	if err != nil {
		return err
	}
	t.end = end
	return nil
}

func textCommand(t *Text, ev *session.Event) error {
	c, err := Decode[session.Command](ev)
	if err != nil {
		return err
	}
	t.Remember(ev.Seq, c)
	text := c.Text
	if text == "" {
		text = "(" + c.Type + ")"
	}
	t.Block()
	t.Printf("%s %s> %s\n", t.Stamp(ev.Time), t.User(), text)
	return nil
}

func textResult(t *Text, ev *session.Event) error {
	r, err := Decode[session.Result](ev)
	if err != nil {
		return err
	}
	t.ResultOf(r.Command)
	switch {
	case r.Error != nil:
		t.Printf("%s\n", ErrorLine(r.Error))
	case r.Tag != "":
		t.Printf("%s\n", r.Tag)
	default:
		t.Printf("(%d rows)\n", r.RowCount)
	}
	return nil
}

// ErrorLine is "SEVERITY:  CODE: message", as psql shows errors verbosely.
func ErrorLine(e *session.Error) string {
	sev := e.Severity
	if sev == "" {
		sev = "ERROR"
	}
	if e.Code != "" {
		return fmt.Sprintf("%s:  %s: %s", sev, e.Code, e.Message)
	}
	return fmt.Sprintf("%s:  %s", sev, e.Message)
}

func textPolicy(t *Text, ev *session.Event) error {
	d, err := Decode[session.Decision](ev)
	if err != nil {
		return err
	}
	t.current = 0
	t.Block()
	t.Printf("%s %s> %s\n", t.Stamp(ev.Time), t.User(), d.Command.Text)
	t.Printf("%s\n", DecisionLine(d))
	return nil
}

// DecisionLine is "DENIED (rule): message".
func DecisionLine(d *session.Decision) string {
	verb := strings.ToUpper(d.Action)
	switch d.Action {
	case "deny":
		verb = "DENIED"
	case "review":
		verb = "HELD FOR REVIEW"
	}
	return fmt.Sprintf("%s (%s): %s", verb, d.Rule, d.Message)
}

func textError(t *Text, ev *session.Event) error {
	e, err := Decode[session.Error](ev)
	if err != nil {
		return err
	}
	t.Block()
	t.Printf("%s %s\n", t.Stamp(ev.Time), ErrorLine(e))
	return nil
}

func textOutput(t *Text, ev *session.Event) error {
	b, err := Decode[session.Bytes](ev)
	if err != nil {
		return err
	}
	t.fresh = false
	t.Write(b.Data)
	return nil
}

func textSilent(*Text, *session.Event) error { return nil }

func textUnknown(t *Text, ev *session.Event) error {
	var b bytes.Buffer
	if json.Compact(&b, ev.Payload) != nil {
		b.Reset()
		b.Write(ev.Payload)
	}
	t.Block()
	t.Printf("%s %s %s\n", t.Stamp(ev.Time), ev.Kind, b.String())
	return nil
}
