package replay

import (
	"strings"
	"testing"
	"time"

	"github.com/hoophq/hoop/session"
)

func TestMySQLText(t *testing.T) {
	evs := events(t, "mysql",
		session.KindCommand, session.Command{Type: "query", Text: "SELECT id, name FROM t"},
		session.KindResult, session.Result{Command: 2, Columns: []session.Column{{Name: "id", Type: "int"}, {Name: "name", Type: "varchar"}},
			Rows: [][]session.Value{{str("1"), str("alice")}, {str("10"), nil}}, RowCount: 2, Duration: 1500 * time.Microsecond},
		session.KindCommand, session.Command{Type: "execute", Statement: "1", Text: "INSERT INTO t VALUES (?, ?)",
			Params: []session.Value{str("3"), nil}, ParamTypes: []string{"bigint", "null"}},
		session.KindResult, session.Result{Command: 4, AffectedRows: 1, LastInsertID: 3},
		session.KindCommand, session.Command{Type: "query", Text: "SELECT * FROM nope"},
		session.KindResult, session.Result{Command: 6, Error: &session.Error{Code: "1146", SQLState: "42S02", Message: "Table 'app.nope' doesn't exist"}},
		session.KindPolicy, session.Decision{Action: "deny", Rule: "builtin:identity", Message: "no", Command: session.Command{Type: "query", Text: "SET @hoop_user = 1"}},
	)
	got := render(t, evs, session.Report{})
	for _, want := range []string{
		"mysql> SELECT id, name FROM t\n+----+-------+\n| id | name  |\n+----+-------+\n|  1 | alice |\n| 10 | NULL  |\n+----+-------+\n2 rows in set (0.002 sec)\n",
		"mysql> -- execute statement 1: INSERT INTO t VALUES (?, ?)\n-- parameters: 1 = '3' (bigint), 2 = NULL (null)\nQuery OK, 1 row affected (0.000 sec)\n",
		"ERROR 1146 (42S02): Table 'app.nope' doesn't exist\n",
		"mysql> SET @hoop_user = 1\nDENIED (builtin:identity): no\n",
	} {
		if !strings.Contains(got, want) {
			t.Errorf("transcript lacks\n%s\n--- got\n%s", want, got)
		}
	}
}
