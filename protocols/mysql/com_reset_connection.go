package mysql

import (
	"bytes"
	"fmt"

	"github.com/hoophq/hoop/session"
)

// comResetConnection relays COM_RESET_CONNECTION, which clears the session
// upstream — user variables included — and then sets the identity variables
// again before the client hears it worked.
func (c *conn) comResetConnection(p []byte) error {
	seq, start, sent, err := c.recordAndForward(&session.Command{Type: "reset_connection"}, p)
	if !sent {
		return err
	}
	reply, err := c.readUpstream()
	if err != nil {
		return err
	}
	reply = bytes.Clone(reply)
	if isOK(reply) {
		c.stmts, c.lastPrepared = map[uint32]*stmt{}, 0
		if err := c.setIdentity(); err != nil {
			return err
		}
	}
	if err := c.writeClient(reply); err != nil {
		return err
	}
	return c.recordReply(seq, reply, start)
}

// setIdentity sets the identity variables upstream, outside any client
// exchange.
func (c *conn) setIdentity() error {
	c.buf = comQuery{Query: identityOf(c.id, c.sess.ID()).setStatement()}.encode(c.buf[:0])
	if err := c.forward(c.buf); err != nil {
		return err
	}
	p, _, err := c.up.r.read()
	if err != nil {
		return &upstreamError{err}
	}
	if !isOK(p) {
		msg := "unexpected reply"
		if e, err := decodeErr(p); err == nil && isErr(p) {
			msg = e.Error()
		}
		return &upstreamError{fmt.Errorf("setting the identity variables again: %s", msg)}
	}
	return nil
}
