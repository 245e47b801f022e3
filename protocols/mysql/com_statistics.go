package mysql

import (
	"time"

	"github.com/hoophq/hoop/session"
)

// comStatistics relays COM_STATISTICS (the mysql client's status command),
// whose reply is a bare string, not an OK packet.
func (c *conn) comStatistics(p []byte) error {
	seq, start, sent, err := c.recordAndForward(&session.Command{Type: "statistics"}, p)
	if !sent {
		return err
	}
	reply, err := c.relay()
	if err != nil {
		return err
	}
	if isErr(reply) {
		return c.recordReply(seq, reply, start)
	}
	return c.result(&session.Result{Command: seq, Info: text(reply), Duration: time.Since(start)})
}
