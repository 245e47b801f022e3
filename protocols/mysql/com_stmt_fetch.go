package mysql

import (
	"fmt"
	"strconv"

	"github.com/hoophq/hoop/session"
)

// comStmtFetch is COM_STMT_FETCH: the next rows of the cursor an execution
// opened.
type comStmtFetch struct {
	StmtID  uint32
	NumRows uint32
}

func decodeComStmtFetch(p []byte) (comStmtFetch, error) {
	d := decoder{b: p[1:]}
	f := comStmtFetch{StmtID: d.u32(), NumRows: d.u32()}
	if d.err != nil || !d.empty() {
		return f, fmt.Errorf("%w: COM_STMT_FETCH", ErrMalformed)
	}
	return f, nil
}

// comStmtFetch records the fetch and the rows it returns, decoded with the
// cursor's columns.
func (c *conn) comStmtFetch(p []byte) error {
	f, err := decodeComStmtFetch(p)
	if err != nil {
		return err
	}
	cmd := &session.Command{Type: "fetch", Statement: strconv.FormatUint(uint64(f.StmtID), 10)}
	st := c.lookup(f.StmtID)
	if st != nil {
		cmd.Text = st.text
	}
	seq, start, sent, err := c.recordAndForward(cmd, p)
	if !sent {
		return err
	}
	rs := c.newResultSet(seq, true)
	if st != nil {
		rs.cols = st.cursor
		rs.r.Columns = columns(st.cursor)
	}
	_, err = c.relayRows(rs, start)
	return err
}
