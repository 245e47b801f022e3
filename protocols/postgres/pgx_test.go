package postgres_test

import (
	"context"
	"errors"
	"fmt"
	"math/big"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgtype"

	"github.com/hoophq/hoop/session"
)

func str(v session.Value) string {
	if v == nil {
		return "<NULL>"
	}
	return *v
}

// The extended protocol records each execute with the statement's text and
// its parameters decoded from pgx's binary formats.
func TestPgxParams(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	c := connect(t, connMain, "params", "dba")
	ts := time.Date(2024, 2, 29, 13, 14, 15, 123456000, time.UTC)
	num := pgtype.Numeric{Int: big.NewInt(-123450), Exp: -2, Valid: true}
	var (
		i  int32
		s  string
		tt time.Time
		n  pgtype.Numeric
		b  []byte
		nl *string
	)
	const sql = "select $1::int4, $2::text, $3::timestamptz, $4::numeric, $5::bytea, $6::text /* params */"
	err := c.QueryRow(ctx, sql, int32(42), "héllo, 'world'", ts, num, []byte{0xde, 0xad, 0xbe, 0xef}, nil).Scan(&i, &s, &tt, &n, &b, &nl)
	if err != nil {
		t.Fatal(err)
	}
	if i != 42 || s != "héllo, 'world'" || !tt.Equal(ts) || string(b) != "\xde\xad\xbe\xef" || nl != nil {
		t.Fatalf("got %v %q %v %v %x %v", i, s, tt, n, b, nl)
	}
	c.Close(ctx)

	_, rec := sessionRecord(t, "params")
	execs := rec.CommandsOf("execute")
	if len(execs) != 1 {
		t.Fatalf("executes %+v; want 1", execs)
	}
	e := execs[0]
	if e.Text != sql || e.Statement == "" {
		t.Errorf("execute text %q statement %q; want the statement's SQL and name", e.Text, e.Statement)
	}
	want := []string{"42", "héllo, 'world'", "2024-02-29 13:14:15.123456Z", "-1234.50", `\xdeadbeef`, "<NULL>"}
	wantTypes := []string{"int4", "text", "timestamptz", "numeric", "bytea", "text"}
	if len(e.Params) != len(want) || len(e.ParamTypes) != len(want) {
		t.Fatalf("params %d, types %v; want %d", len(e.Params), e.ParamTypes, len(want))
	}
	for k := range want {
		if got := str(e.Params[k]); got != want[k] || e.ParamTypes[k] != wantTypes[k] {
			t.Errorf("param %d: %q %s; want %q %s", k+1, got, e.ParamTypes[k], want[k], wantTypes[k])
		}
	}
	seq := rec.SeqOf(t, "/* params */")
	res := rec.ResultsOf(seq)
	if len(res) != 1 || res[0].Tag != "SELECT 1" || len(res[0].Rows) != 1 {
		t.Fatalf("results %+v; want one row", res)
	}
	row := res[0].Rows[0]
	for k, w := range []string{"42", "héllo, 'world'", "2024-02-29 13:14:15.123456Z", "-1234.50", `\xdeadbeef`, "<NULL>"} {
		if got := str(row[k]); got != w {
			t.Errorf("column %d: %q; want %q", k+1, got, w)
		}
	}
}

// An error in the extended protocol is recorded and the connection goes on;
// a pipelined statement after it is recorded as skipped.
func TestPgxErrors(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	c := connect(t, connMain, "pgxerr", "dba")
	var pe *pgconn.PgError
	if _, err := c.Exec(ctx, "select 1/$1::int /* divide */", 0); !errors.As(err, &pe) || pe.Code != "22012" {
		t.Fatalf("got %v; want 22012", err)
	}
	b := &pgx.Batch{}
	b.Queue("select 1/$1::int /* batch divide */", 0)
	b.Queue("select 2 /* after the error */")
	if err := c.SendBatch(ctx, b).Close(); !errors.As(err, &pe) || pe.Code != "22012" {
		t.Fatalf("batch: %v; want 22012", err)
	}
	var n int
	if err := c.QueryRow(ctx, "select 3").Scan(&n); err != nil || n != 3 {
		t.Fatalf("after the errors: %d, %v", n, err)
	}
	c.Close(ctx)
	_, rec := sessionRecord(t, "pgxerr")
	if res := rec.ResultsOf(rec.SeqOf(t, "/* divide */")); len(res) != 1 || res[0].Error == nil || res[0].Error.Code != "22012" {
		t.Fatalf("results %+v (%+v); want 22012", res, res[0].Error)
	}
	if res := rec.ResultsOf(rec.SeqOf(t, "after the error")); len(res) != 1 || res[0].Error == nil || !strings.Contains(res[0].Error.Message, "not executed") {
		t.Fatalf("results %+v; want skipped", res)
	}
}

// LISTEN / NOTIFY through the broker: the listener gets the notification,
// and its session records it.
func TestNotifyListen(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	l := connect(t, connMain, "listener", "dba")
	if _, err := l.Exec(ctx, "listen hoop_events"); err != nil {
		t.Fatal(err)
	}
	n := connect(t, connMain, "notifier", "dba")
	if _, err := n.Exec(ctx, "select pg_notify('hoop_events', 'hello from notifier')"); err != nil {
		t.Fatal(err)
	}
	note, err := l.WaitForNotification(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if note.Channel != "hoop_events" || note.Payload != "hello from notifier" {
		t.Fatalf("notification %+v", note)
	}
	// Its own notification carries the pid the broker gave it.
	if _, err := l.Exec(ctx, "notify hoop_events, 'self'"); err != nil {
		t.Fatal(err)
	}
	self, err := l.WaitForNotification(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if self.Payload != "self" || self.PID != l.PgConn().PID() {
		t.Fatalf("own notification %+v; want the pid %d the broker gave", self, l.PgConn().PID())
	}
	l.Close(ctx)
	_, rec := sessionRecord(t, "listener")
	var got *session.Notification
	for _, r := range rec.Results {
		if r.Notification != nil && r.Command == 0 && got == nil {
			got = r.Notification
		}
	}
	if got == nil || got.Channel != "hoop_events" || got.Payload != "hello from notifier" || got.PID == 0 {
		t.Fatalf("recorded notification %+v", got)
	}
}

// pgx's CopyFrom sends COPY data without waiting for CopyInResponse.
func TestPgxCopyFrom(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	c := connect(t, connMain, "bulk", "dba")
	if _, err := c.Exec(ctx, "create temp table bulk(id int, name text)"); err != nil {
		t.Fatal(err)
	}
	rows := make([][]any, 500)
	for i := range rows {
		rows[i] = []any{int32(i), fmt.Sprintf("name %d", i)}
	}
	n, err := c.CopyFrom(ctx, pgx.Identifier{"bulk"}, []string{"id", "name"}, pgx.CopyFromRows(rows))
	if err != nil || n != 500 {
		t.Fatalf("copied %d, %v", n, err)
	}
	c.Close(ctx)
	_, rec := sessionRecord(t, "bulk")
	res := rec.ResultsOf(rec.SeqOf(t, "from stdin"))
	if len(res) != 1 || res[0].Copy == nil || res[0].Copy.Direction != "in" || res[0].Copy.Bytes == 0 || res[0].Tag != "COPY 500" {
		t.Fatalf("results %+v; want COPY 500 with bytes in", res)
	}
}

// Concurrent sessions stay apart: each records its own commands, in order.
func TestConcurrentSessions(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	const clients, queries = 12, 25
	var wg sync.WaitGroup
	for k := range clients {
		wg.Add(1)
		go func() {
			defer wg.Done()
			user := fmt.Sprintf("worker%02d", k)
			c, err := pgx.Connect(ctx, dsn(connMain, user, "require")+" password="+srv.Token(t, user, "dev"))
			if err != nil {
				t.Error(err)
				return
			}
			defer c.Close(ctx)
			for q := range queries {
				var got int
				var who string
				if err := c.QueryRow(ctx, "select $1::int * 2, current_setting('hoop.user')", q).Scan(&got, &who); err != nil || got != 2*q || who != user {
					t.Errorf("%s query %d: %d %q %v", user, q, got, who, err)
					return
				}
			}
			if _, err := c.Exec(ctx, "select pg_sleep(0.01)", pgx.QueryExecModeSimpleProtocol); err != nil {
				t.Error(err)
			}
		}()
	}
	wg.Wait()
	for k := range clients {
		user := fmt.Sprintf("worker%02d", k)
		_, rec := sessionRecord(t, user)
		execs := rec.CommandsOf("execute")
		if len(execs) != queries {
			t.Errorf("%s: %d executes; want %d", user, len(execs), queries)
			continue
		}
		for q, e := range execs {
			if len(e.Params) != 1 || str(e.Params[0]) != fmt.Sprint(q) {
				t.Errorf("%s execute %d params %v; want [%d]", user, q, e.Params, q)
			}
		}
		for _, seq := range rec.Order {
			if res := rec.ResultsOf(seq); len(res) != 1 {
				t.Errorf("%s command %d (%s): %d results", user, seq, rec.Commands[seq].Text, len(res))
			}
		}
	}
}
