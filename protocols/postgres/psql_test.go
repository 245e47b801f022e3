package postgres_test

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

func TestPsqlQueryRows(t *testing.T) {
	tok := srv.Token(t, "alice", "dba", "dev")
	out := mustPsql(t, "alice", tok, "-c", "select g, 'row ' || g as label from generate_series(1,3) g")
	if want := "1|row 1\n2|row 2\n3|row 3\n"; out != want {
		t.Fatalf("got %q; want %q", out, want)
	}
	_, rec := sessionRecord(t, "alice")
	seq := rec.SeqOf(t, "generate_series")
	c := rec.Commands[seq]
	if c.Type != "query" || c.TouchesIdentity {
		t.Errorf("command %+v; want an ordinary query", c)
	}
	res := rec.ResultsOf(seq)
	if len(res) != 1 {
		t.Fatalf("got %d results; want 1", len(res))
	}
	r := res[0]
	if r.Tag != "SELECT 3" || r.RowCount != 3 || len(r.Rows) != 3 || r.Truncated {
		t.Fatalf("result %+v; want 3 rows, SELECT 3", r)
	}
	if len(r.Columns) != 2 || r.Columns[0].Name != "g" || r.Columns[0].Type != "int4" || r.Columns[1].Name != "label" || r.Columns[1].Type != "text" {
		t.Errorf("columns %+v; want g int4, label text", r.Columns)
	}
	if got := *r.Rows[2][1]; got != "row 3" {
		t.Errorf("row 3 label %q; want %q", got, "row 3")
	}
	if rec.End.Outcome != "ok" {
		t.Errorf("outcome %q; want ok", rec.End.Outcome)
	}
}

// The upstream session carries the caller's identity in hoop.* settings.
func TestPsqlIdentitySettings(t *testing.T) {
	tok := srv.Token(t, "bob", "dev", "dba")
	out := mustPsql(t, "bob", tok, "-c",
		"select current_setting('hoop.user'), current_setting('hoop.groups'), current_setting('hoop.session'), current_setting('application_name')")
	info, _ := sessionRecord(t, "bob")
	if want := "bob|dev,dba|" + info.ID + "|psql\n"; out != want {
		t.Fatalf("got %q; want %q", out, want)
	}
	if info.Meta["database"] != "app" || info.Meta["application_name"] != "psql" {
		t.Errorf("meta %v; want database app, application_name psql", info.Meta)
	}
}

// A query string of several statements records one result per statement,
// all answering the one command.
func TestPsqlMultiStatement(t *testing.T) {
	tok := srv.Token(t, "multi", "dba")
	out := mustPsql(t, "multi", tok, "-c",
		"select 1; select 'two' as two; create temp table m(a int); insert into m values (1),(2)")
	if !strings.Contains(out, "INSERT 0 2") {
		t.Fatalf("output %q; want the last statement's tag", out)
	}
	_, rec := sessionRecord(t, "multi")
	seq := rec.SeqOf(t, "create temp table m")
	res := rec.ResultsOf(seq)
	tags := make([]string, len(res))
	for i, r := range res {
		tags[i] = r.Tag
	}
	want := []string{"SELECT 1", "SELECT 1", "CREATE TABLE", "INSERT 0 2"}
	if strings.Join(tags, ",") != strings.Join(want, ",") {
		t.Fatalf("tags %q; want %q", tags, want)
	}
	if got := *res[1].Rows[0][0]; got != "two" || res[1].Columns[0].Name != "two" {
		t.Errorf("second result %+v; want the row 'two'", res[1])
	}
}

// An error reaches psql as the server sent it, is recorded with the result,
// and the session goes on.
func TestPsqlError(t *testing.T) {
	tok := srv.Token(t, "oops", "dba")
	out, _ := psql(t, "oops", tok, "-c", "select 1/0", "-c", "select 42")
	if !strings.Contains(out, "ERROR:  division by zero") || !strings.Contains(out, "42") {
		t.Fatalf("output %q; want the error, then 42", out)
	}
	_, rec := sessionRecord(t, "oops")
	res := rec.ResultsOf(rec.SeqOf(t, "1/0"))
	if len(res) != 1 || res[0].Error == nil || res[0].Error.Code != "22012" || res[0].Error.Severity != "ERROR" {
		t.Fatalf("results %+v; want one with error 22012", res)
	}
	if res := rec.ResultsOf(rec.SeqOf(t, "42")); len(res) != 1 || *res[0].Rows[0][0] != "42" {
		t.Fatalf("results %+v; want 42", res)
	}
}

// Rows past the connection's caps are counted, not kept.
func TestPsqlRecordingCaps(t *testing.T) {
	tok := srv.Token(t, "capped", "dba")
	out := mustPsql(t, "capped", tok, "-c", "select count(*) from (select generate_series(1,1000)) s", "-c", "select generate_series(1,1000)")
	if !strings.HasPrefix(out, "1000\n1\n2\n") {
		t.Fatalf("output starts %q", out[:min(len(out), 40)])
	}
	_, rec := sessionRecord(t, "capped")
	res := rec.ResultsOf(rec.Order[1])
	if len(res) != 1 || res[0].RowCount != 1000 || len(res[0].Rows) != 100 || !res[0].Truncated || res[0].Tag != "SELECT 1000" {
		t.Fatalf("result rows=%d count=%d truncated=%v; want 100 of 1000 kept, truncated", len(res[0].Rows), res[0].RowCount, res[0].Truncated)
	}
}

// \copy in both directions: the data goes through, and the recording counts
// the bytes and keeps them (up to the cap).
func TestPsqlCopy(t *testing.T) {
	tok := srv.Token(t, "copier", "dba")
	dir := t.TempDir()
	in := filepath.Join(dir, "in.csv")
	outFile := filepath.Join(dir, "out.csv")
	var data strings.Builder
	for i := range 50 {
		data.WriteString(strings.Repeat("x", i%7) + "," + string(rune('a'+i%26)) + "\n")
	}
	if err := os.WriteFile(in, []byte(data.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	mustPsql(t, "copier", tok,
		"-c", "create temp table c(a text, b text)",
		"-c", `\copy c from '`+in+`' csv`,
		"-c", `\copy c to '`+outFile+`' csv`,
	)
	got, err := os.ReadFile(outFile)
	if err != nil {
		t.Fatal(err)
	}
	if string(got) != data.String() {
		t.Fatalf("copied out %q; want %q", got, data.String())
	}
	_, rec := sessionRecord(t, "copier")
	inRes := rec.ResultsOf(rec.SeqOf(t, "FROM STDIN"))
	if len(inRes) != 1 || inRes[0].Copy == nil || inRes[0].Copy.Direction != "in" ||
		inRes[0].Copy.Bytes != int64(data.Len()) || inRes[0].Copy.Data != data.String() || inRes[0].Tag != "COPY 50" {
		t.Fatalf("copy in result %+v; want %d bytes in, COPY 50", inRes, data.Len())
	}
	outRes := rec.ResultsOf(rec.SeqOf(t, "TO STDOUT"))
	if len(outRes) != 1 || outRes[0].Copy == nil || outRes[0].Copy.Direction != "out" ||
		outRes[0].Copy.Bytes != int64(data.Len()) || outRes[0].Copy.Data != data.String() {
		t.Fatalf("copy out result %+v; want %d bytes out", outRes, data.Len())
	}
}

func TestPsqlNotice(t *testing.T) {
	tok := srv.Token(t, "noticed", "dba")
	out := mustPsql(t, "noticed", tok, "-c", "do $$ begin raise notice 'hello %', 'notice'; end $$")
	if !strings.Contains(out, "NOTICE:  hello notice") {
		t.Fatalf("output %q; want the notice", out)
	}
	_, rec := sessionRecord(t, "noticed")
	res := rec.ResultsOf(rec.SeqOf(t, "raise notice"))
	if len(res) != 1 || len(res[0].Notices) != 1 || res[0].Notices[0].Message != "hello notice" || res[0].Tag != "DO" {
		t.Fatalf("results %+v; want DO with the notice", res)
	}
}

// Ctrl-C in psql cancels a running statement through the broker: the cancel
// request is mapped to the upstream's key and recorded in the session.
func TestPsqlCancel(t *testing.T) {
	tok := srv.Token(t, "canceller", "dba")
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second) // hang guard
	defer cancel()
	cmd := psqlCmd(ctx, connMain, "canceller", tok, "require", "-c", "select pg_sleep(30) /* cancel me */")
	var out strings.Builder
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	waitActive(t, ctx, "cancel me")
	if err := cmd.Process.Signal(syscall.SIGINT); err != nil {
		t.Fatal(err)
	}
	err := cmd.Wait()
	if ctx.Err() != nil {
		t.Fatalf("psql did not return after Ctrl-C: %s", out.String())
	}
	if err == nil || !strings.Contains(out.String(), "canceling statement due to user request") {
		t.Fatalf("psql: %v, output %q; want the statement cancelled", err, out.String())
	}
	_, rec := sessionRecord(t, "canceller")
	if len(rec.CommandsOf("cancel")) != 1 {
		t.Fatalf("commands %v; want one cancel", rec.Commands)
	}
	res := rec.ResultsOf(rec.SeqOf(t, "cancel me"))
	if len(res) != 1 || res[0].Error == nil || res[0].Error.Code != "57014" {
		t.Fatalf("results %+v; want query_canceled", res)
	}
}

// waitActive waits until a statement containing marker runs upstream.
func waitActive(t *testing.T, ctx context.Context, marker string) {
	t.Helper()
	c, err := pg.SuperuserConn(ctx, "app")
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close(ctx)
	for {
		var n int
		err := c.QueryRow(ctx, "select count(*) from pg_stat_activity where state = 'active' and query like '%'||$1||'%' and pid <> pg_backend_pid()", marker).Scan(&n)
		if err != nil {
			t.Fatal(err)
		}
		if n > 0 {
			return
		}
		select {
		case <-ctx.Done():
			t.Fatalf("%q never ran", marker)
		case <-time.After(20 * time.Millisecond):
		}
	}
}
