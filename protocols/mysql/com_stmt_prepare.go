package mysql

import (
	"fmt"
	"time"

	gm "github.com/go-mysql-org/go-mysql/mysql"

	"github.com/hoophq/hoop/session"
)

// comStmtPrepare is COM_STMT_PREPARE: the text of a statement with ?
// placeholders.
type comStmtPrepare struct {
	Query string
}

func decodeComStmtPrepare(p []byte) comStmtPrepare { return comStmtPrepare{Query: string(p[1:])} }

// stmtPrepareOK is COM_STMT_PREPARE_OK, the server's answer: the statement
// id and how many parameter and column definitions follow.
type stmtPrepareOK struct {
	StmtID     uint32
	NumColumns uint16
	NumParams  uint16
	Warnings   uint16
}

func decodeStmtPrepareOK(p []byte) (stmtPrepareOK, error) {
	d := decoder{b: p}
	var ok stmtPrepareOK
	if d.u8() != gm.OK_HEADER {
		return ok, fmt.Errorf("%w: COM_STMT_PREPARE_OK header", ErrMalformed)
	}
	ok.StmtID = d.u32()
	ok.NumColumns = d.u16()
	ok.NumParams = d.u16()
	d.u8() // reserved
	if d.err != nil {
		return ok, fmt.Errorf("%w: COM_STMT_PREPARE_OK", ErrMalformed)
	}
	if len(d.b) >= 2 {
		ok.Warnings = d.u16()
	}
	return ok, nil
}

// comStmtPrepare records the statement (the policy sees its text as it would
// a query's), forwards it, and keeps what later executions need.
func (c *conn) comStmtPrepare(p []byte) error {
	q := decodeComStmtPrepare(p)
	info := c.guard.analyze(q.Query)
	cmd := &session.Command{Type: "prepare", Text: q.Query, TouchesIdentity: info.TouchesIdentity}
	if !cmd.TouchesIdentity {
		switch {
		case info.Refuse != "" || info.Kill != nil:
			return c.refuse(cmd, "mysql:kill", newErr(gm.ER_NOT_SUPPORTED_YET, "KILL cannot be prepared through the broker: send it as a statement of its own"))
		case info.LocalInfile && !c.ep.Conn.MySQL.LocalInfile:
			return c.refuse(cmd, "mysql:local_infile", newErr(gm.ER_NOT_ALLOWED_COMMAND,
				"LOAD DATA LOCAL INFILE is disabled on connection %q (the connection's mysql.local_infile allows it)", c.ep.Conn.Name))
		}
	}
	seq, start, sent, err := c.recordAndForward(cmd, p)
	if !sent {
		return err
	}
	first, err := c.relay()
	if err != nil {
		return err
	}
	if isErr(first) {
		return c.recordReply(seq, first, start)
	}
	ok, err := decodeStmtPrepareOK(first)
	if err != nil {
		return &upstreamError{err}
	}
	st := &stmt{id: ok.StmtID, text: q.Query, numParams: int(ok.NumParams), numColumns: int(ok.NumColumns)}
	if ok.NumParams > 0 {
		if _, err := c.relayColumns(int(ok.NumParams)); err != nil {
			return err
		}
		if _, err := c.relayEOF(); err != nil {
			return err
		}
	}
	var cols []columnDefinition
	if ok.NumColumns > 0 {
		if cols, err = c.relayColumns(int(ok.NumColumns)); err != nil {
			return err
		}
		if _, err := c.relayEOF(); err != nil {
			return err
		}
	}
	c.stmts[st.id] = st
	c.lastPrepared = st.id
	return c.result(&session.Result{
		Command: seq, Columns: columns(cols), Warnings: ok.Warnings, Duration: time.Since(start),
		Info: fmt.Sprintf("statement %d prepared, %d parameter%s", st.id, st.numParams, map[bool]string{true: "", false: "s"}[st.numParams == 1]),
	})
}
