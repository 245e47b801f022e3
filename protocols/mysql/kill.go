package mysql

import (
	"fmt"
	"time"

	"github.com/hoophq/hoop/session"
)

// kill relays KILL [CONNECTION | QUERY] n, where n is a thread id the broker
// gave a client: the mysql client's Ctrl-C opens a new connection and sends
// KILL QUERY with the id from its greeting. The killer has authenticated on
// this connection; it must be the same user as the session it names. The
// statement runs on the killer's own upstream session with the upstream's
// thread id, which the recording shows.
func (c *conn) kill(cmd *session.Command, k *killRequest) error {
	up, e := c.srv.threads.lookup(k.ID, c.id)
	if e != nil {
		return c.refuse(cmd, "mysql:kill", e)
	}
	what := "CONNECTION"
	if k.Query {
		what = "QUERY"
	}
	cmd.Type = "kill"
	cmd.Text = fmt.Sprintf("KILL %s %d /* hoop: thread %d as the client knows it */", what, up, k.ID)
	seq, refused, err := c.record(cmd)
	if refused || err != nil {
		return err
	}
	start := time.Now()
	c.buf = comQuery{Query: cmd.Text}.encode(c.buf[:0])
	if err := c.forward(c.buf); err != nil {
		return err
	}
	return c.relayResults(seq, start, false, nil)
}
