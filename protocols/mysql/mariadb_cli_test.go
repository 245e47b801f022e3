package mysql_test

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestMariadbQueryRows(t *testing.T) {
	tok := token(t, "alice", "dba", "dev")
	out := mustMariadb(t, connMain, "alice", tok, "-B", "-N", "-e", "SELECT seq, CONCAT('row ', seq) AS label FROM seq_1_to_3")
	if want := "1\trow 1\n2\trow 2\n3\trow 3\n"; out != want {
		t.Fatalf("got %q; want %q", out, want)
	}
	info, rec := sessionRecord(t, "alice")
	seq := rec.SeqOf(t, "seq_1_to_3")
	c := rec.Commands[seq]
	if c.Type != "query" || c.TouchesIdentity {
		t.Errorf("command %+v; want an ordinary query", c)
	}
	res := rec.ResultsOf(seq)
	if len(res) != 1 {
		t.Fatalf("got %d results; want 1", len(res))
	}
	r := res[0]
	if r.RowCount != 3 || len(r.Rows) != 3 || r.Truncated {
		t.Fatalf("result %+v; want 3 rows", r)
	}
	if len(r.Columns) != 2 || r.Columns[0].Name != "seq" || r.Columns[0].Type != "bigint unsigned" || r.Columns[1].Name != "label" {
		t.Errorf("columns %+v; want seq bigint unsigned, label", r.Columns)
	}
	if got := str(r.Rows[2][1]); got != "row 3" {
		t.Errorf("row 3 label %q; want %q", got, "row 3")
	}
	if rec.End.Outcome != "ok" {
		t.Errorf("outcome %q; want ok", rec.End.Outcome)
	}
	if info.Meta["tls"] != "on" || info.Meta["database"] != "app" || info.Meta["program_name"] != "mysql" {
		t.Errorf("meta %v; want tls on, database app, program_name mysql", info.Meta)
	}
}

// A batch of statements sent as one COM_QUERY (the client sends what lies
// between delimiters as one query) records one result per statement, all
// answering the one command.
func TestMariadbMultiStatement(t *testing.T) {
	tok := token(t, "multi", "dba")
	batch := "DELIMITER //\nSELECT 1 AS one; SELECT 'two' AS two; CREATE TEMPORARY TABLE m (a INT); INSERT INTO m VALUES (1),(2)//\n"
	cmd := mariadbCmd(context.Background(), connMain, "multi", tok, "-B")
	cmd.Stdin = strings.NewReader(batch)
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("mariadb: %v\n%s", err, out)
	}
	if want := "one\n1\ntwo\ntwo\n"; string(out) != want {
		t.Fatalf("output %q; want %q", out, want)
	}
	_, rec := sessionRecord(t, "multi")
	seq := rec.SeqOf(t, "CREATE TEMPORARY TABLE m")
	res := rec.ResultsOf(seq)
	if len(res) != 4 {
		t.Fatalf("%d results; want 4: %+v", len(res), res)
	}
	if str(res[0].Rows[0][0]) != "1" || res[1].Columns[0].Name != "two" || str(res[1].Rows[0][0]) != "two" {
		t.Errorf("results %+v; want rows 1 and 'two'", res[:2])
	}
	if res[2].Columns != nil || res[3].AffectedRows != 2 || !strings.Contains(res[3].Info, "Records: 2") {
		t.Errorf("results %+v, %+v; want CREATE then INSERT of 2 rows", res[2], res[3])
	}
}

func TestMariadbError(t *testing.T) {
	tok := token(t, "erin", "dba")
	out, err := mariadb(t, connMain, "erin", tok, "-e", "SELECT * FROM no_such_table")
	if err == nil || !strings.Contains(out, "ERROR 1146 (42S02)") {
		t.Fatalf("mariadb: %v %q; want ERROR 1146 (42S02)", err, out)
	}
	_, rec := sessionRecord(t, "erin")
	res := rec.ResultsOf(rec.SeqOf(t, "no_such_table"))
	if len(res) != 1 || res[0].Error == nil || res[0].Error.Code != "1146" || res[0].Error.SQLState != "42S02" ||
		!strings.Contains(res[0].Error.Message, "no_such_table") {
		t.Fatalf("results %+v; want error 1146 42S02", res)
	}
}

// Rows past the connection's caps are counted but not kept.
func TestMariadbRecordingCaps(t *testing.T) {
	tok := token(t, "caps", "dba")
	out := mustMariadb(t, connMain, "caps", tok, "-B", "-N", "-e", "SELECT COUNT(*) FROM seq_1_to_250; SELECT seq FROM seq_1_to_250")
	if !strings.HasPrefix(out, "250\n1\n2\n") {
		t.Fatalf("output starts %q", out[:min(20, len(out))])
	}
	_, rec := sessionRecord(t, "caps")
	res := rec.ResultsOf(rec.SeqOf(t, "SELECT seq FROM seq_1_to_250"))
	if len(res) != 1 || res[0].RowCount != 250 || len(res[0].Rows) != 100 || !res[0].Truncated {
		t.Fatalf("result: %d rows kept of %d, truncated %v; want 100 of 250, truncated", len(res[0].Rows), res[0].RowCount, res[0].Truncated)
	}
}

// LOAD DATA LOCAL INFILE is refused where the connection does not allow it,
// and relayed and recorded where it does.
func TestMariadbLoadDataLocal(t *testing.T) {
	file := filepath.Join(t.TempDir(), "rows.csv")
	os.WriteFile(file, []byte("1,alpha\n2,beta\n3,gamma\n"), 0o644)
	load := "CREATE TEMPORARY TABLE l (id INT, name TEXT); LOAD DATA LOCAL INFILE '" + file + "' INTO TABLE l FIELDS TERMINATED BY ','; SELECT COUNT(*) FROM l"

	tok := token(t, "loader", "dba")
	out, err := mariadb(t, connMain, "loader", tok, "--local-infile=1", "-B", "-N", "-e", load)
	if err == nil || !strings.Contains(out, "ERROR 1148") || !strings.Contains(out, "mysql.local_infile") {
		t.Fatalf("mariadb: %v %q; want ERROR 1148 naming mysql.local_infile", err, out)
	}
	_, rec := sessionRecord(t, "loader")
	if len(rec.Policies) != 1 || rec.Policies[0].Rule != "mysql:local_infile" || !strings.Contains(rec.Policies[0].Command.Text, "LOAD DATA LOCAL") {
		t.Fatalf("policies %+v; want the refusal recorded", rec.Policies)
	}

	tok = token(t, "loader2", "dba")
	out = mustMariadb(t, connPlain, "loader2", tok, "--local-infile=1", "-B", "-N", "-e", load)
	if out != "3\n" {
		t.Fatalf("output %q; want 3 rows loaded", out)
	}
	_, rec = sessionRecord(t, "loader2")
	res := rec.ResultsOf(rec.SeqOf(t, "LOAD DATA LOCAL"))
	if len(res) != 1 || res[0].Copy == nil || res[0].Copy.Bytes != 23 || res[0].Copy.Data != "1,alpha\n2,beta\n3,gamma\n" || res[0].AffectedRows != 3 {
		t.Fatalf("results %+v; want the 23 bytes recorded and 3 rows affected", res)
	}
}

// The upstream session carries the caller's identity in user variables and
// in its connection attributes.
func TestMariadbIdentity(t *testing.T) {
	tok := token(t, "dave", "dev", "dba")
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	cmd := mariadbCmd(ctx, connMain, "dave", tok, "-B", "-N", "-e",
		"SELECT @hoop_user, @hoop_groups, @hoop_session, @hoop_actors; SELECT SLEEP(0.5)")
	var out strings.Builder
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	attrs := map[string]string{}
	for deadline := time.Now().Add(20 * time.Second); len(attrs) < 4 && time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) {
		rows, err := db.Query(`SELECT a.ATTR_NAME, a.ATTR_VALUE FROM performance_schema.session_connect_attrs a
			JOIN performance_schema.session_connect_attrs u ON u.PROCESSLIST_ID = a.PROCESSLIST_ID
			WHERE u.ATTR_NAME = 'hoop_user' AND u.ATTR_VALUE = 'dave' AND a.ATTR_NAME LIKE 'hoop\_%'`)
		if err != nil {
			t.Fatal(err)
		}
		for _, r := range rows {
			attrs[r[0]] = r[1]
		}
	}
	if err := cmd.Wait(); err != nil {
		t.Fatalf("mariadb: %v\n%s", err, out.String())
	}
	info, _ := sessionRecord(t, "dave")
	if want := "dave\tdev,dba\t" + info.ID + "\t\n0\n"; out.String() != want {
		t.Errorf("output %q; want %q", out.String(), want)
	}
	if attrs["hoop_user"] != "dave" || attrs["hoop_groups"] != "dev,dba" || attrs["hoop_session"] != info.ID {
		t.Errorf("upstream connection attributes %v; want hoop_user dave, hoop_groups dev,dba, hoop_session %s", attrs, info.ID)
	}
}

// A statement that would change the identity variables is refused and
// recorded; the variables keep their value.
func TestMariadbIdentityGuard(t *testing.T) {
	tok := token(t, "mallory", "dba")
	stdin := "SET @hoop_user = 'admin';\nSELECT 1 INTO @hoop_user;\nSELECT @hoop_user;\n"
	cmd := mariadbCmd(context.Background(), connMain, "mallory", tok, "-B", "-N", "--force")
	cmd.Stdin = strings.NewReader(stdin)
	out, _ := cmd.CombinedOutput()
	if n := strings.Count(string(out), "ERROR 1227 (42000)"); n != 2 || !strings.HasSuffix(string(out), "mallory\n") {
		t.Fatalf("output %q; want two refusals (ERROR 1227) and @hoop_user still mallory", out)
	}
	_, rec := sessionRecord(t, "mallory")
	if len(rec.Policies) != 2 || rec.Policies[0].Rule != "builtin:identity" || !rec.Policies[0].Command.TouchesIdentity {
		t.Fatalf("policies %+v; want two identity refusals", rec.Policies)
	}
}
