package replay

import (
	"bytes"
	"fmt"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/hoophq/hoop/session"
)

// MySQL sessions read like a transcript of the mysql client: the prompt and
// the statement, then the rows in a boxed table, "Query OK" with the rows
// affected, or "ERROR code (SQLSTATE): message", and the time it took.
func init() {
	RegisterText("mysql", session.KindCommand, mysqlCommand)
	RegisterText("mysql", session.KindResult, mysqlResult)
	RegisterText("mysql", session.KindPolicy, mysqlPolicy)
}

// mysqlPrompt writes the statement after "mysql> ", continuation lines after
// "    -> ", as the client prompts.
func (t *Text) mysqlPrompt(ts time.Time, text string) {
	t.Block()
	lines := strings.Split(strings.TrimRight(text, " \t\r\n"), "\n")
	stamp := t.Stamp(ts)
	t.Printf("%s mysql> %s\n", stamp, lines[0])
	pad := strings.Repeat(" ", utf8.RuneCountInString(stamp)+1)
	for _, l := range lines[1:] {
		t.Printf("%s    -> %s\n", pad, strings.TrimRight(l, " \t\r"))
	}
}

func mysqlCommand(t *Text, ev *session.Event) error {
	c, err := Decode[session.Command](ev)
	if err != nil {
		return err
	}
	t.Remember(ev.Seq, c)
	t.mysqlPrompt(ev.Time, mysqlText(c))
	if len(c.Params) > 0 {
		t.Printf("%s\n", mysqlParams(c))
	}
	return nil
}

// mysqlText is what the prompt shows for a command: the statement, or the
// protocol command a client sent without one.
func mysqlText(c *session.Command) string {
	switch c.Type {
	case "query", "kill", "init_db", "":
		return c.Text
	case "prepare":
		return "-- prepare: " + c.Text
	case "execute":
		if c.Text == "" {
			return fmt.Sprintf("-- execute statement %s", c.Statement)
		}
		return fmt.Sprintf("-- execute statement %s: %s", c.Statement, c.Text)
	case "fetch":
		return fmt.Sprintf("-- fetch from the cursor of statement %s", c.Statement)
	case "close":
		return fmt.Sprintf("-- close statement %s", c.Statement)
	case "reset":
		return fmt.Sprintf("-- reset statement %s", c.Statement)
	case "field_list":
		return "-- COM_FIELD_LIST " + c.Text
	case "change_user":
		return "-- COM_CHANGE_USER " + c.Text
	case "set_option":
		return "-- COM_SET_OPTION " + c.Text
	}
	if c.Text != "" {
		return fmt.Sprintf("-- %s %s", strings.ToUpper(c.Type), c.Text)
	}
	return "-- " + strings.ToUpper(c.Type)
}

// mysqlParams lists bound parameters: "-- parameters: 1 = '42' (bigint), 2 = NULL".
func mysqlParams(c *session.Command) string {
	var b strings.Builder
	b.WriteString("-- parameters: ")
	for i, p := range c.Params {
		if i > 0 {
			b.WriteString(", ")
		}
		fmt.Fprintf(&b, "%d = %s", i+1, mysqlLiteral(p))
		if i < len(c.ParamTypes) && c.ParamTypes[i] != "" {
			fmt.Fprintf(&b, " (%s)", c.ParamTypes[i])
		}
	}
	return b.String()
}

func mysqlLiteral(v session.Value) string {
	if v == nil {
		return "NULL"
	}
	if strings.HasPrefix(*v, "0x") {
		return *v
	}
	return "'" + strings.ReplaceAll(*v, "'", "''") + "'"
}

func mysqlPolicy(t *Text, ev *session.Event) error {
	d, err := Decode[session.Decision](ev)
	if err != nil {
		return err
	}
	t.current = 0
	t.mysqlPrompt(ev.Time, mysqlText(&d.Command))
	t.Printf("%s\n", DecisionLine(d))
	return nil
}

func mysqlResult(t *Text, ev *session.Event) error {
	r, err := Decode[session.Result](ev)
	if err != nil {
		return err
	}
	t.ResultOf(r.Command)
	for _, n := range r.Notices {
		t.Printf("-- %s\n", n.Message)
	}
	if r.Copy != nil {
		t.Printf("-- LOAD DATA LOCAL INFILE: %d bytes from the client", r.Copy.Bytes)
		if r.Copy.Truncated {
			t.Printf(" (the recording kept the first %d)", len(r.Copy.Data))
		}
		t.Printf("\n")
	}
	elapsed := fmt.Sprintf("(%.3f sec)", r.Duration.Seconds())
	switch {
	case r.Error != nil:
		t.Printf("%s\n", mysqlErrorLine(r.Error))
	case r.Info == "cursor opened":
		names := make([]string, len(r.Columns))
		for i, c := range r.Columns {
			names[i] = c.Name
		}
		t.Printf("-- cursor opened: %s\n", strings.Join(names, ", "))
	case len(r.Columns) > 0 && r.RowCount == 0 && !strings.HasPrefix(r.Info, "statement "):
		t.Printf("Empty set%s %s\n", warnings(r.Warnings), elapsed)
	case len(r.Columns) > 0 && !strings.HasPrefix(r.Info, "statement "):
		writeBoxTable(&t.buf, r.Columns, r.Rows)
		t.Printf("%s in set%s %s\n", plural(r.RowCount, "row"), warnings(r.Warnings), elapsed)
		if r.Truncated || int64(len(r.Rows)) < r.RowCount {
			t.Printf("-- the recording kept the first %d of %d rows (recording cap)\n", len(r.Rows), r.RowCount)
		}
	case r.Info != "" && r.AffectedRows == 0 && !strings.HasPrefix(r.Info, "Records:") && !strings.HasPrefix(r.Info, "Rows matched:"):
		t.Printf("-- %s\n", r.Info)
	default:
		t.Printf("Query OK, %s affected%s %s\n", plural(int64(r.AffectedRows), "row"), warnings(r.Warnings), elapsed)
		if r.Info != "" {
			t.Printf("%s\n", r.Info)
		}
	}
	return nil
}

// mysqlErrorLine is "ERROR 1146 (42S02): message", as the client shows it.
func mysqlErrorLine(e *session.Error) string {
	if e.SQLState != "" {
		return fmt.Sprintf("ERROR %s (%s): %s", e.Code, e.SQLState, e.Message)
	}
	if e.Code != "" {
		return fmt.Sprintf("ERROR %s: %s", e.Code, e.Message)
	}
	return "ERROR: " + e.Message
}

func plural(n int64, what string) string {
	if n == 1 {
		return "1 " + what
	}
	return fmt.Sprintf("%d %ss", n, what)
}

func warnings(n uint16) string {
	if n == 0 {
		return ""
	}
	return ", " + plural(int64(n), "warning")
}

// mysqlNumeric are right-aligned, as the mysql client aligns numbers.
var mysqlNumeric = map[string]bool{
	"tinyint": true, "smallint": true, "mediumint": true, "int": true, "bigint": true,
	"decimal": true, "float": true, "double": true, "year": true,
}

// writeBoxTable writes rows as the mysql client's table: "+---+" rules,
// "|" between columns, numbers right-aligned, NULL as NULL.
func writeBoxTable(b *bytes.Buffer, cols []session.Column, rows [][]session.Value) {
	width := make([]int, len(cols))
	for i, c := range cols {
		width[i] = utf8.RuneCountInString(c.Name)
	}
	cells := make([][]string, len(rows))
	for r, row := range rows {
		cells[r] = make([]string, len(cols))
		for i := range cols {
			s := "NULL"
			if i < len(row) && row[i] != nil {
				s = cellText(*row[i])
			}
			cells[r][i] = s
			width[i] = max(width[i], utf8.RuneCountInString(s))
		}
	}
	rule := func() {
		for _, w := range width {
			b.WriteString("+" + strings.Repeat("-", w+2))
		}
		b.WriteString("+\n")
	}
	line := func(vals []string, numeric func(int) bool) {
		for i, s := range vals {
			pad := strings.Repeat(" ", width[i]-utf8.RuneCountInString(s))
			if numeric(i) {
				b.WriteString("| " + pad + s + " ")
			} else {
				b.WriteString("| " + s + pad + " ")
			}
		}
		b.WriteString("|\n")
	}
	names := make([]string, len(cols))
	for i, c := range cols {
		names[i] = c.Name
	}
	rule()
	line(names, func(int) bool { return false })
	rule()
	for _, row := range cells {
		line(row, func(i int) bool { return mysqlNumeric[strings.TrimSuffix(cols[i].Type, " unsigned")] })
	}
	rule()
}
