package replay

import (
	"fmt"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/hoophq/hoop/session"
)

// SQL sessions read like a psql transcript: the prompt and the statement,
// then the rows as an aligned table, the command tag or the error, and the
// time it took.
func init() { RegisterSQL("postgres") }

// RegisterSQL renders the sessions of protocol (a SQL database) as SQL
// transcripts.
func RegisterSQL(protocol string) {
	RegisterText(protocol, session.KindCommand, sqlCommand)
	RegisterText(protocol, session.KindResult, sqlResult)
	RegisterText(protocol, session.KindPolicy, sqlPolicy)
}

// prompt writes the statement after "user=> ", continuation lines after
// "user-> ", as psql prompts.
func (t *Text) prompt(ts time.Time, text string) {
	t.Block()
	user := t.User()
	lines := strings.Split(strings.TrimRight(text, " \t\r\n"), "\n")
	t.Printf("%s %s=> %s\n", t.Stamp(ts), user, lines[0])
	pad := strings.Repeat(" ", utf8.RuneCountInString(t.Stamp(ts))+1)
	for _, l := range lines[1:] {
		t.Printf("%s%s-> %s\n", pad, user, strings.TrimRight(l, " \t\r"))
	}
}

func sqlCommand(t *Text, ev *session.Event) error {
	c, err := Decode[session.Command](ev)
	if err != nil {
		return err
	}
	t.Remember(ev.Seq, c)
	t.prompt(ev.Time, sqlText(c))
	if len(c.Params) > 0 {
		t.Printf("%s\n", sqlParams(c))
	}
	return nil
}

// sqlText is what the prompt shows for a command.
func sqlText(c *session.Command) string {
	switch {
	case c.Text != "":
		return c.Text
	case c.Type == "cancel":
		return "-- cancel request"
	case c.Statement != "":
		return fmt.Sprintf("-- %s of prepared statement %q", c.Type, c.Statement)
	}
	return "-- " + c.Type
}

// sqlParams lists bound parameters: "-- $1 = '42' (int4), $2 = NULL".
func sqlParams(c *session.Command) string {
	var b strings.Builder
	b.WriteString("-- ")
	for i, p := range c.Params {
		if i > 0 {
			b.WriteString(", ")
		}
		fmt.Fprintf(&b, "$%d = %s", i+1, literal(p))
		if i < len(c.ParamTypes) && c.ParamTypes[i] != "" {
			fmt.Fprintf(&b, " (%s)", c.ParamTypes[i])
		}
	}
	return b.String()
}

// literal quotes a value as a SQL literal; nil is NULL.
func literal(v session.Value) string {
	if v == nil {
		return "NULL"
	}
	return "'" + strings.ReplaceAll(*v, "'", "''") + "'"
}

func sqlPolicy(t *Text, ev *session.Event) error {
	d, err := Decode[session.Decision](ev)
	if err != nil {
		return err
	}
	t.current = 0
	t.prompt(ev.Time, sqlText(&d.Command))
	t.Printf("%s\n", DecisionLine(d))
	return nil
}

func sqlResult(t *Text, ev *session.Event) error {
	r, err := Decode[session.Result](ev)
	if err != nil {
		return err
	}
	if r.Notification != nil {
		n := r.Notification
		t.Block()
		t.Printf("%s Asynchronous notification %q", t.Stamp(ev.Time), n.Channel)
		if n.Payload != "" {
			t.Printf(" with payload %q", n.Payload)
		}
		t.Printf(" received from server process with PID %d.\n", n.PID)
		if r.Command == 0 {
			return nil
		}
	}
	t.ResultOf(r.Command)
	for i := range r.Notices {
		t.notice(&r.Notices[i])
	}
	if r.Copy != nil {
		dir := "from the client"
		if r.Copy.Direction == "out" {
			dir = "to the client"
		}
		t.Printf("-- COPY %s: %d bytes", dir, r.Copy.Bytes)
		if r.Copy.Truncated {
			t.Printf(" (recording kept the first %d)", len(r.Copy.Data))
		}
		t.Printf("\n")
	}
	switch {
	case r.Error != nil:
		t.sqlError(r.Error, r.Command)
	case len(r.Columns) > 0:
		writeTable(&t.buf, r.Columns, r.Rows)
		if r.RowCount == 1 {
			t.Printf("(1 row)\n")
		} else {
			t.Printf("(%d rows)\n", r.RowCount)
		}
		if r.Truncated || int64(len(r.Rows)) < r.RowCount {
			t.Printf("-- the recording kept the first %d of %d rows (recording cap)\n", len(r.Rows), r.RowCount)
		}
	case r.Tag != "":
		t.Printf("%s\n", r.Tag)
	}
	if r.Duration > 0 {
		t.Printf("Time: %.3f ms\n", float64(r.Duration)/float64(time.Millisecond))
	}
	return nil
}

func (t *Text) notice(n *session.Error) {
	sev := n.Severity
	if sev == "" {
		sev = "NOTICE"
	}
	t.Printf("%s:  %s\n", sev, n.Message)
	if n.Detail != "" {
		t.Printf("DETAIL:  %s\n", n.Detail)
	}
	if n.Hint != "" {
		t.Printf("HINT:  %s\n", n.Hint)
	}
}

// sqlError writes an error as psql does with VERBOSITY verbose: the code in
// the first line, the statement line with a caret under the error's
// position, the detail and the hint.
func (t *Text) sqlError(e *session.Error, cmd uint64) {
	t.Printf("%s\n", ErrorLine(e))
	if c := t.Command(cmd); c != nil && e.Position > 0 {
		t.caret(c.Text, int(e.Position))
	}
	if e.Detail != "" {
		t.Printf("DETAIL:  %s\n", e.Detail)
	}
	if e.Hint != "" {
		t.Printf("HINT:  %s\n", e.Hint)
	}
}

// caret writes "LINE n: ..." and a caret under the 1-based character
// position pos of text.
func (t *Text) caret(text string, pos int) {
	runes := []rune(text)
	if pos > len(runes) {
		return
	}
	line, start := 1, 0
	for i, r := range runes[:pos-1] {
		if r == '\n' {
			line, start = line+1, i+1
		}
	}
	end := start
	for end < len(runes) && runes[end] != '\n' {
		end++
	}
	prefix := fmt.Sprintf("LINE %d: ", line)
	t.Printf("%s%s\n", prefix, strings.TrimRight(string(runes[start:end]), "\r"))
	t.Printf("%s^\n", strings.Repeat(" ", utf8.RuneCountInString(prefix)+pos-1-start))
}
