package mysql

import (
	"fmt"
	"strconv"

	"github.com/hoophq/hoop/session"
)

// comStmtReset is COM_STMT_RESET: it drops the long data sent for a
// statement and closes its cursor.
type comStmtReset struct {
	StmtID uint32
}

func decodeComStmtReset(p []byte) (comStmtReset, error) {
	d := decoder{b: p[1:]}
	s := comStmtReset{StmtID: d.u32()}
	if d.err != nil || !d.empty() {
		return s, fmt.Errorf("%w: COM_STMT_RESET", ErrMalformed)
	}
	return s, nil
}

func (c *conn) comStmtReset(p []byte) error {
	s, err := decodeComStmtReset(p)
	if err != nil {
		return err
	}
	cmd := &session.Command{Type: "reset", Statement: strconv.FormatUint(uint64(s.StmtID), 10)}
	if st := c.lookup(s.StmtID); st != nil {
		cmd.Text = st.text
		st.longData, st.longSize, st.cursor = nil, nil, nil
	}
	return c.simple(cmd, p)
}

// simple records a command whose reply is one OK or ERR packet, forwards
// it and relays the reply.
func (c *conn) simple(cmd *session.Command, p []byte) error {
	seq, start, sent, err := c.recordAndForward(cmd, p)
	if !sent {
		return err
	}
	reply, err := c.relay()
	if err != nil {
		return err
	}
	return c.recordReply(seq, reply, start)
}
