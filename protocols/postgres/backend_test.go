package postgres

import (
	"bytes"
	"context"
	"errors"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgproto3"

	"github.com/hoophq/hoop/config"
	"github.com/hoophq/hoop/session"
)

// fakeRecorder keeps what the relay records.
type fakeRecorder struct {
	mu      sync.Mutex
	seq     uint64
	results []*session.Result
}

func (f *fakeRecorder) Command(*session.Command) (uint64, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.seq++
	return f.seq, nil
}

func (f *fakeRecorder) Result(r *session.Result) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.results = append(f.results, r)
	return nil
}

func (f *fakeRecorder) Append(session.Kind, any, bool) (uint64, error) { return 0, nil }

func encode(t *testing.T, msgs ...pgproto3.BackendMessage) [][]byte {
	t.Helper()
	var out [][]byte
	for _, m := range msgs {
		b, err := m.Encode(nil)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, b)
	}
	return out
}

// The DataRow seam: a rewriter changes what the client receives and what is
// recorded alike.
func TestDataRowRewrite(t *testing.T) {
	c1, c2 := net.Pipe()
	defer c1.Close()
	defer c2.Close()
	rec := &fakeRecorder{}
	r := newRelay(rec, config.Recording{MaxRows: 10, MaxBytes: 1 << 10}, c1, newFramer(c1, 1<<20), &upstream{conn: c2, txStatus: 'I'}, 1<<20)
	r.back.rewrite = func(fields []field, values [][]byte) ([][]byte, bool) {
		if len(fields) != 2 || fields[1].name != "email" {
			return values, false
		}
		if values[1] == nil {
			return values, false
		}
		out := append([][]byte(nil), values...)
		out[1] = []byte("***")
		return out, true
	}
	r.queue.push(&op{kind: opQuery, seq: 1, sent: time.Now()})
	msgs := encode(t,
		&pgproto3.RowDescription{Fields: []pgproto3.FieldDescription{{Name: []byte("id"), DataTypeOID: 23}, {Name: []byte("email"), DataTypeOID: 25}}},
		&pgproto3.DataRow{Values: [][]byte{[]byte("1"), []byte("a@example.com")}},
		&pgproto3.DataRow{Values: [][]byte{[]byte("2"), nil}},
		&pgproto3.CommandComplete{CommandTag: []byte("SELECT 2")},
		&pgproto3.ReadyForQuery{TxStatus: 'I'},
	)
	var sent []byte
	for _, m := range msgs {
		out, err := r.fromServer(m)
		if err != nil {
			t.Fatal(err)
		}
		sent = append(sent, out...)
	}
	if bytes.Contains(sent, []byte("a@example.com")) || !bytes.Contains(sent, []byte("***")) {
		t.Fatalf("forwarded %q; want the rewritten row", sent)
	}
	if len(rec.results) != 1 {
		t.Fatalf("results %+v; want 1", rec.results)
	}
	res := rec.results[0]
	if res.Tag != "SELECT 2" || res.RowCount != 2 || *res.Rows[0][1] != "***" || res.Rows[1][1] != nil || res.Command != 1 {
		t.Fatalf("result %+v; want the rewritten rows", res)
	}
	if r.queue.len() != 0 {
		t.Fatalf("queue holds %d ops after ReadyForQuery", r.queue.len())
	}
}

// A server that breaks the protocol gets the client a FATAL, not a panic.
func TestFromServerMalformed(t *testing.T) {
	c1, c2 := net.Pipe()
	defer c1.Close()
	defer c2.Close()
	r := newRelay(&fakeRecorder{}, config.Recording{}, c1, newFramer(c1, 1<<20), &upstream{conn: c2, txStatus: 'I'}, 1<<20)
	r.queue.push(&op{kind: opQuery, seq: 1})
	go func() { // drain what the relay sends the client
		buf := make([]byte, 1024)
		for {
			if _, err := c2.Read(buf); err != nil {
				return
			}
		}
	}()
	for _, msg := range [][]byte{
		{'D', 0, 0, 0, 6, 0},                 // DataRow cut short
		{'T', 0, 0, 0, 6, 0, 1},              // RowDescription of 1 field, none there
		{'Z', 0, 0, 0, 4},                    // ReadyForQuery without status
		{'?', 0, 0, 0, 4},                    // unknown
		{'E', 0, 0, 0, 5, 'M'},               // unterminated field
		{'A', 0, 0, 0, 8, 0, 0, 0, 1},        // notification without channel
		{'V', 0, 0, 0, 8, 0, 0, 0, 9},        // function result longer than the message
		{'C', 0, 0, 0, 5, 'x'},               // command tag without NUL
		{'N', 0, 0, 0, 6, 'S', 'x'},          // notice cut short
		{'1', 0, 0, 0, 4}, {'2', 0, 0, 0, 4}, // answers nobody asked for: ignored
	} {
		_, err := r.fromServer(msg)
		if msg[0] == '1' || msg[0] == '2' {
			if err != nil {
				t.Errorf("%q: %v; want it ignored", msg, err)
			}
			continue
		}
		if err == nil || !strings.Contains(err.Error(), "invalid message from the upstream server") {
			t.Errorf("%q: %v; want a protocol violation", msg, err)
		}
	}
}

// When the server's connection drops without a word, the client gets FATAL
// 08006 and the session ends in error.
func TestUpstreamLost(t *testing.T) {
	client, clientPeer := net.Pipe()
	up, upPeer := net.Pipe()
	defer clientPeer.Close()
	r := newRelay(&fakeRecorder{}, config.Recording{}, client, newFramer(client, 1<<20), &upstream{conn: up, txStatus: 'I'}, 1<<20)
	done := make(chan error, 1)
	go func() { done <- r.run(context.Background()) }()
	upPeer.Close()
	clientPeer.SetReadDeadline(time.Now().Add(10 * time.Second))
	fe := pgproto3.NewFrontend(clientPeer, clientPeer)
	msg, err := fe.Receive()
	if err != nil {
		t.Fatal(err)
	}
	if e, ok := msg.(*pgproto3.ErrorResponse); !ok || e.Code != codeConnectionFailure || e.Severity != severityFatal {
		t.Fatalf("got %#v; want FATAL 08006", msg)
	}
	if err := <-done; !errors.Is(err, errUpstreamLost) {
		t.Fatalf("run: %v; want the upstream lost", err)
	}
}
