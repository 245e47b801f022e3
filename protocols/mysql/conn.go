package mysql

import (
	"errors"
	"fmt"
	"io"
	"net"
	"sync"
	"time"

	gm "github.com/go-mysql-org/go-mysql/mysql"

	"github.com/hoophq/hoop/broker"
	"github.com/hoophq/hoop/session"
)

// Sentinel causes of a connection's end.
var (
	errShutdown = errors.New("the broker is shutting down")
	errQuit     = errors.New("client quit")
)

// conn is one client connection and, once logged in, its upstream. Its
// methods run on the connection's goroutine, except abort.
type conn struct {
	srv *server
	ep  *broker.Endpoint

	nc       net.Conn // the client, TLS once negotiated
	cr       *packetReader
	cw       *packetWriter
	cseq     byte // the next sequence id on the client leg
	tls      bool
	threadID uint32
	caps     uint32 // negotiated with the client
	salt     [20]byte

	id   *broker.Identity
	sess *broker.Session
	up   *upstream
	useq byte // the next sequence id on the upstream leg

	stmts        map[uint32]*stmt
	lastPrepared uint32
	guard        guard
	buf          []byte // scratch for encoding packets

	mu     sync.Mutex // guards the fields below, set by abort
	cause  error
	upConn net.Conn // closed by abort
}

func newConn(s *server, nc net.Conn) *conn {
	return &conn{
		srv:   s,
		ep:    s.ep,
		nc:    nc,
		cr:    newPacketReader(nc, int(s.ep.Conn.MaxMessageSize)),
		cw:    newPacketWriter(nc),
		stmts: map[uint32]*stmt{},
	}
}

// abort ends the connection from another goroutine: it closes both legs, so
// the connection's goroutine returns with cause.
func (c *conn) abort(cause error) {
	c.mu.Lock()
	if c.cause == nil {
		c.cause = cause
	}
	up := c.upConn
	c.mu.Unlock()
	c.nc.Close()
	if up != nil {
		up.Close()
	}
}

func (c *conn) abortCause() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.cause
}

func (c *conn) setUpstream(u *upstream) {
	c.mu.Lock()
	c.up, c.upConn = u, u.nc
	aborted := c.cause != nil
	c.mu.Unlock()
	if aborted {
		u.close()
	}
}

// clientError and upstreamError label an I/O error with its leg.
type clientError struct{ err error }

func (e *clientError) Error() string { return "client: " + e.err.Error() }
func (e *clientError) Unwrap() error { return e.err }

type upstreamError struct{ err error }

func (e *upstreamError) Error() string { return "upstream: " + e.err.Error() }
func (e *upstreamError) Unwrap() error { return e.err }

// readClient reads a packet from the client. The payload is valid until the
// next read.
func (c *conn) readClient() ([]byte, error) {
	if !c.cr.buffered() {
		if err := c.cw.flush(); err != nil {
			return nil, &clientError{err}
		}
	}
	p, next, err := c.cr.read()
	if err != nil {
		c.cseq = c.cr.seq + 1 // an ERR about this packet answers it
		return nil, &clientError{err}
	}
	c.cseq = next
	return p, nil
}

// writeClient writes a packet to the client, buffered.
func (c *conn) writeClient(p []byte) error {
	next, err := c.cw.write(c.cseq, p)
	if err != nil {
		return &clientError{err}
	}
	c.cseq = next
	return nil
}

func (c *conn) flushClient() error {
	if err := c.cw.flush(); err != nil {
		return &clientError{err}
	}
	return nil
}

// readUpstream reads a packet from the upstream, first flushing what the
// client is owed when nothing more is waiting, so rows that trickle in reach
// the client as they come.
func (c *conn) readUpstream() ([]byte, error) {
	if !c.up.r.buffered() {
		if err := c.flushClient(); err != nil {
			return nil, err
		}
	}
	p, next, err := c.up.r.read()
	if err != nil {
		return nil, &upstreamError{err}
	}
	c.useq = next
	return p, nil
}

func (c *conn) writeUpstream(p []byte) error {
	next, err := c.up.w.write(c.useq, p)
	if err != nil {
		return &upstreamError{err}
	}
	c.useq = next
	return nil
}

func (c *conn) flushUpstream() error {
	if err := c.up.w.flush(); err != nil {
		return &upstreamError{err}
	}
	return nil
}

// forward sends a client command upstream as the first packet of an
// exchange.
func (c *conn) forward(p []byte) error {
	c.useq = 0
	if err := c.writeUpstream(p); err != nil {
		return err
	}
	return c.flushUpstream()
}

// relay reads one packet from the upstream and forwards it to the client.
func (c *conn) relay() ([]byte, error) {
	p, err := c.readUpstream()
	if err != nil {
		return nil, err
	}
	return p, c.writeClient(p)
}

// sendErr answers the client with an ERR packet, flushed.
func (c *conn) sendErr(e *errPacket) error {
	c.buf = e.encode(c.buf[:0])
	if err := c.writeClient(c.buf); err != nil {
		return err
	}
	return c.flushClient()
}

// sendOK answers the client with an OK packet.
func (c *conn) sendOK(ok *okPacket) error {
	c.buf = ok.encode(c.buf[:0])
	if err := c.writeClient(c.buf); err != nil {
		return err
	}
	return c.flushClient()
}

// record passes a command through the broker's policy and records it. When
// it returns refused, the client has been told why and the command must not
// be forwarded; err is fatal to the connection.
func (c *conn) record(cmd *session.Command) (seq uint64, refused bool, err error) {
	seq, err = c.sess.Command(cmd)
	if err == nil {
		return seq, false, nil
	}
	var de *broker.DeniedError
	if errors.As(err, &de) {
		return 0, true, c.sendErr(newErr(gm.ER_SPECIFIC_ACCESS_DENIED_ERROR, "%s", de.Message))
	}
	// Fail closed: what can't be recorded does not run, and the session ends.
	c.sendErr(newErr(gm.ER_UNKNOWN_ERROR, "the command could not be recorded, so it was not run"))
	return 0, true, err
}

// recordAndForward records cmd, then forwards its packet p upstream: record,
// then forward, so that what cannot be recorded never runs. start is when p
// went upstream. When sent is false the command was not run: the client has
// been told why (err is nil) or the connection failed (err says how), and
// the caller returns err.
func (c *conn) recordAndForward(cmd *session.Command, p []byte) (seq uint64, start time.Time, sent bool, err error) {
	seq, refused, err := c.record(cmd)
	if refused || err != nil {
		return 0, time.Time{}, false, err
	}
	start = time.Now()
	if err := c.forward(p); err != nil {
		return 0, time.Time{}, false, err
	}
	return seq, start, true, nil
}

// refuse records a command the protocol refuses by itself (a policy event
// with rule) and answers the client with e.
func (c *conn) refuse(cmd *session.Command, rule string, e *errPacket) error {
	d := &session.Decision{Action: string(broker.Deny), Rule: rule, Message: e.Message, Command: *cmd}
	if _, err := c.sess.Append(session.KindPolicy, d, true); err != nil {
		c.sendErr(newErr(gm.ER_UNKNOWN_ERROR, "the refusal could not be recorded"))
		return err
	}
	return c.sendErr(e)
}

// result records a result without waiting.
func (c *conn) result(r *session.Result) error {
	if err := c.sess.Result(r); err != nil {
		return fmt.Errorf("recording a result: %w", err)
	}
	return nil
}

// recordReply records a reply that is a single OK, ERR or EOF packet.
func (c *conn) recordReply(cmd uint64, p []byte, start time.Time) error {
	r := &session.Result{Command: cmd, Duration: time.Since(start)}
	switch {
	case isErr(p):
		e, err := decodeErr(p)
		if err != nil {
			return &upstreamError{err}
		}
		r.Error = e.event()
	case isOK(p):
		ok, err := decodeOK(p)
		if err != nil {
			return &upstreamError{err}
		}
		r.AffectedRows, r.LastInsertID, r.Warnings, r.Info = ok.AffectedRows, ok.LastInsertID, ok.Warnings, ok.Info
	}
	return c.result(r)
}

// isDisconnect tells a client that went away from a failure.
func isDisconnect(err error) bool {
	return errors.Is(err, io.EOF) || errors.Is(err, net.ErrClosed)
}
