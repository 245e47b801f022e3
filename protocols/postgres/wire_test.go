package postgres_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgproto3"
)

// wire is a raw protocol session through the broker: pgconn logs in, then
// the test speaks the protocol itself.
type wire struct {
	t  *testing.T
	fe *pgproto3.Frontend
}

func dialWire(t *testing.T, user string) *wire {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	pc, err := pgconn.Connect(ctx, dsn(connMain, user, "require")+" password="+srv.Token(t, user, "dba"))
	if err != nil {
		t.Fatal(err)
	}
	hc, err := pc.Hijack()
	if err != nil {
		t.Fatal(err)
	}
	hc.Conn.SetDeadline(time.Now().Add(30 * time.Second)) // hang guard
	t.Cleanup(func() {
		hc.Conn.Write([]byte{'X', 0, 0, 0, 4})
		hc.Conn.Close()
	})
	return &wire{t: t, fe: pgproto3.NewFrontend(hc.Conn, hc.Conn)}
}

func (w *wire) send(msgs ...pgproto3.FrontendMessage) {
	w.t.Helper()
	for _, m := range msgs {
		w.fe.Send(m)
	}
	if err := w.fe.Flush(); err != nil {
		w.t.Fatal(err)
	}
}

// receive reads until the n-th ReadyForQuery and describes each message:
// its type, and for some what it says.
func (w *wire) receive(n int) []string {
	w.t.Helper()
	var out []string
	for n > 0 {
		m, err := w.fe.Receive()
		if err != nil {
			w.t.Fatalf("after %q: %v", out, err)
		}
		s := strings.TrimPrefix(fmt.Sprintf("%T", m), "*pgproto3.")
		switch m := m.(type) {
		case *pgproto3.ErrorResponse:
			s += " " + m.Code
		case *pgproto3.DataRow:
			s += " " + string(m.Values[0])
		case *pgproto3.ReadyForQuery:
			n--
		}
		out = append(out, s)
	}
	return out
}

func (w *wire) expect(n int, want ...string) {
	w.t.Helper()
	if got := w.receive(n); strings.Join(got, ", ") != strings.Join(want, ", ") {
		w.t.Fatalf("got   %s\nwant %s", strings.Join(got, ", "), strings.Join(want, ", "))
	}
}

// A refused Execute in a pipeline is answered in order: after what the
// server answered before it, and the rest of the batch is skipped to Sync.
func TestWireRefusalOrder(t *testing.T) {
	w := dialWire(t, "piper")
	w.send(
		&pgproto3.Parse{Query: "select 'one'"}, &pgproto3.Bind{}, &pgproto3.Execute{},
		&pgproto3.Parse{Query: "select set_config('hoop.user', 'x', false) /* wire guard */"}, &pgproto3.Bind{}, &pgproto3.Execute{},
		&pgproto3.Parse{Query: "select 'three' /* after the refusal */"}, &pgproto3.Bind{}, &pgproto3.Execute{},
		&pgproto3.Sync{},
		&pgproto3.Query{String: "select 'four'"},
	)
	w.expect(2,
		"ParseComplete", "BindComplete", "DataRow one", "CommandComplete",
		"ParseComplete", "BindComplete", "ErrorResponse 42501", "ReadyForQuery",
		"RowDescription", "DataRow four", "CommandComplete", "ReadyForQuery")
	// A refused simple query among pipelined ones.
	w.send(&pgproto3.Query{String: "select 'five'"}, &pgproto3.Query{String: "set hoop.user = 'x'"}, &pgproto3.Query{String: "select 'six'"})
	w.expect(3,
		"RowDescription", "DataRow five", "CommandComplete", "ReadyForQuery",
		"ErrorResponse 42501", "ReadyForQuery",
		"RowDescription", "DataRow six", "CommandComplete", "ReadyForQuery")
	assertNeverRan(t, "wire guard")
	assertNeverRan(t, "after the refusal")
}

// The recording names the statement that runs, whatever failed or was
// skipped before: a failed Parse does not create its name, a skipped Close
// does not drop one, and SQL-level PREPARE creates one.
func TestWireStatementTracking(t *testing.T) {
	w := dialWire(t, "tracker")
	// The first Parse of s fails; the second creates it.
	w.send(
		&pgproto3.Parse{Name: "s", Query: "select 'first' +"}, &pgproto3.Sync{},
		&pgproto3.Parse{Name: "s", Query: "select 'second'"}, &pgproto3.Sync{},
		&pgproto3.Bind{PreparedStatement: "s"}, &pgproto3.Execute{}, &pgproto3.Sync{},
	)
	w.expect(3, "ErrorResponse 42601", "ReadyForQuery", "ParseComplete", "ReadyForQuery",
		"BindComplete", "DataRow second", "CommandComplete", "ReadyForQuery")
	// The Close of c is skipped after an error, so c keeps its statement and
	// the next Parse of c fails.
	w.send(&pgproto3.Parse{Name: "c", Query: "select 'kept'"}, &pgproto3.Sync{})
	w.expect(1, "ParseComplete", "ReadyForQuery")
	w.send(
		&pgproto3.Bind{PreparedStatement: "nope"}, &pgproto3.Close{ObjectType: 'S', Name: "c"}, &pgproto3.Sync{},
		&pgproto3.Parse{Name: "c", Query: "select 'replaced'"}, &pgproto3.Sync{},
		&pgproto3.Bind{PreparedStatement: "c"}, &pgproto3.Execute{}, &pgproto3.Sync{},
	)
	w.expect(3, "ErrorResponse 26000", "ReadyForQuery", "ErrorResponse 42P05", "ReadyForQuery",
		"BindComplete", "DataRow kept", "CommandComplete", "ReadyForQuery")
	// PREPARE in SQL, then Bind to it without waiting.
	w.send(
		&pgproto3.Query{String: "prepare q(int) as select 'from prepare ' || $1"},
		&pgproto3.Bind{PreparedStatement: "q", Parameters: [][]byte{[]byte("7")}}, &pgproto3.Execute{}, &pgproto3.Sync{},
	)
	w.expect(2, "CommandComplete", "ReadyForQuery", "BindComplete", "DataRow from prepare 7", "CommandComplete", "ReadyForQuery")
	w.send(&pgproto3.Terminate{})

	_, rec := sessionRecord(t, "tracker")
	var texts []string
	for _, e := range rec.CommandsOf("execute") {
		texts = append(texts, e.Text)
	}
	want := []string{"select 'second'", "select 'kept'", "select 'from prepare ' || $1"}
	if strings.Join(texts, "|") != strings.Join(want, "|") {
		t.Fatalf("recorded executes %q; want %q", texts, want)
	}
	if p := rec.CommandsOf("execute")[2].Params; len(p) != 1 || *p[0] != "7" {
		t.Errorf("params %v; want [7]", p)
	}
}

// The fast-path FunctionCall is recorded, and set_config through it is
// refused like the SQL call.
func TestWireFunctionCall(t *testing.T) {
	w := dialWire(t, "caller")
	const int4pl, setConfig = 177, 2078
	w.send(&pgproto3.FunctionCall{Function: int4pl, ArgFormatCodes: []uint16{1}, Arguments: [][]byte{{0, 0, 0, 2}, {0, 0, 0, 3}}, ResultFormatCode: 1})
	w.expect(1, "FunctionCallResponse", "ReadyForQuery")
	w.send(&pgproto3.FunctionCall{Function: setConfig, Arguments: [][]byte{[]byte("hoop.user"), []byte("x"), []byte("false")}})
	w.expect(1, "ErrorResponse 42501", "ReadyForQuery")
	w.send(&pgproto3.Terminate{})
	_, rec := sessionRecord(t, "caller")
	calls := rec.CommandsOf("function_call")
	if len(calls) != 1 || calls[0].Text != "function 177" || len(calls[0].Params) != 2 || *calls[0].Params[0] != `\x00000002` {
		t.Fatalf("function calls %+v", calls)
	}
	res := rec.ResultsOf(rec.Order[0])
	if len(res) != 1 || len(res[0].Rows) != 1 || *res[0].Rows[0][0] != `\x00000005` {
		t.Fatalf("result %+v; want 5", res)
	}
	if len(rec.Policies) != 1 || rec.Policies[0].Command.Text != "function 2078" {
		t.Fatalf("policies %+v; want the set_config call refused", rec.Policies)
	}
}
