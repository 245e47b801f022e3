package postgres

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/binary"
	"io"
	"net"
	"sync"
	"time"

	"github.com/jackc/pgx/v5/pgproto3"

	"github.com/hoophq/hoop/session"
)

// cancelKey is a BackendKeyData the broker gave a client (protocol 3.0: a
// 32-bit process id and a 32-bit secret).
type cancelKey struct {
	pid    uint32
	secret [4]byte
}

// cancelTarget is where a client's cancel request goes: the upstream server
// and the key it gave the broker, and the session to record it in.
type cancelTarget struct {
	s       recorder
	addr    string
	pid     uint32
	secret  []byte
	timeout time.Duration
}

// cancels maps the keys the broker handed out on one listener to their
// targets. It is safe for concurrent use.
type cancels struct {
	mu sync.Mutex
	m  map[cancelKey]*cancelTarget
}

func newCancels() *cancels { return &cancels{m: map[cancelKey]*cancelTarget{}} }

// register makes up a fresh random key for t.
func (c *cancels) register(t *cancelTarget) cancelKey {
	c.mu.Lock()
	defer c.mu.Unlock()
	for {
		var b [8]byte
		rand.Read(b[:])
		// Some clients keep the pid in a signed int: stay positive.
		k := cancelKey{pid: binary.BigEndian.Uint32(b[:4]) & 0x7fffffff}
		copy(k.secret[:], b[4:])
		if _, dup := c.m[k]; k.pid != 0 && !dup {
			c.m[k] = t
			return k
		}
	}
}

func (c *cancels) remove(k cancelKey) {
	c.mu.Lock()
	delete(c.m, k)
	c.mu.Unlock()
}

func (c *cancels) lookup(req *pgproto3.CancelRequest) *cancelTarget {
	if len(req.SecretKey) != 4 {
		return nil
	}
	k := cancelKey{pid: req.ProcessID}
	copy(k.secret[:], req.SecretKey)
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.m[k]
}

// cancel handles a CancelRequest: when the key is one the broker handed out,
// the cancel is recorded in its session and sent to the upstream server over
// a fresh connection, without TLS, as libpq does. Unknown keys are ignored
// silently, as PostgreSQL ignores them: the client learns nothing either way.
func (c *cancels) cancel(ctx context.Context, req *pgproto3.CancelRequest) {
	t := c.lookup(req)
	if t == nil {
		return
	}
	seq, err := t.s.Command(&session.Command{Type: "cancel"})
	if err != nil {
		return // denied (recorded) or not recordable: not forwarded
	}
	if err := t.forward(ctx); err != nil {
		t.s.Result(&session.Result{Command: seq, Error: &session.Error{Message: "hoop: forwarding the cancel request failed: " + err.Error()}})
	}
}

func (t *cancelTarget) forward(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, t.timeout)
	defer cancel()
	var d net.Dialer
	conn, err := d.DialContext(ctx, "tcp", t.addr)
	if err != nil {
		return err
	}
	defer conn.Close()
	if dl, ok := ctx.Deadline(); ok {
		conn.SetDeadline(dl)
	}
	msg, err := (&pgproto3.CancelRequest{ProcessID: t.pid, SecretKey: bytes.Clone(t.secret)}).Encode(nil)
	if err != nil {
		return err
	}
	if _, err := conn.Write(msg); err != nil {
		return err
	}
	// The server closes the connection once it has the request.
	_, err = io.Copy(io.Discard, conn)
	return err
}
