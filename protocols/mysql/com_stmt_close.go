package mysql

import (
	"fmt"
	"strconv"

	"github.com/hoophq/hoop/session"
)

// comStmtClose is COM_STMT_CLOSE. The server does not answer it.
type comStmtClose struct {
	StmtID uint32
}

func decodeComStmtClose(p []byte) (comStmtClose, error) {
	d := decoder{b: p[1:]}
	s := comStmtClose{StmtID: d.u32()}
	if d.err != nil || !d.empty() {
		return s, fmt.Errorf("%w: COM_STMT_CLOSE", ErrMalformed)
	}
	return s, nil
}

func (c *conn) comStmtClose(p []byte) error {
	s, err := decodeComStmtClose(p)
	if err != nil {
		return err
	}
	cmd := &session.Command{Type: "close", Statement: strconv.FormatUint(uint64(s.StmtID), 10)}
	if _, refused, err := c.record(cmd); refused || err != nil {
		return err
	}
	delete(c.stmts, s.StmtID)
	return c.forward(p)
}
