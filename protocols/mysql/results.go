package mysql

import (
	"fmt"
	"time"

	gm "github.com/go-mysql-org/go-mysql/mysql"

	"github.com/hoophq/hoop/config"
	"github.com/hoophq/hoop/session"
)

// resultSet collects one result for the recording, up to the connection's
// caps: the columns, the first rows, and the count of all rows.
type resultSet struct {
	r      session.Result
	caps   config.Recording
	bytes  int
	binary bool
	cols   []columnDefinition
}

func (c *conn) newResultSet(cmd uint64, binary bool) *resultSet {
	return &resultSet{r: session.Result{Command: cmd}, caps: c.ep.Conn.Recording, binary: binary}
}

// row counts a row and keeps it while the caps allow. A row that does not
// decode is counted, noted once, and ends the keeping.
func (rs *resultSet) row(p []byte) {
	rs.r.RowCount++
	if rs.r.Truncated {
		return
	}
	if len(rs.r.Rows) >= rs.caps.MaxRows || rs.bytes >= int(rs.caps.MaxBytes) {
		rs.r.Truncated = true
		return
	}
	var (
		row []session.Value
		err error
	)
	if rs.binary {
		row, err = decodeBinaryRow(p, rs.cols)
	} else {
		row, err = decodeTextRow(p, len(rs.cols))
	}
	if err != nil {
		rs.r.Truncated = true
		rs.r.Notices = append(rs.r.Notices, session.Error{Severity: "NOTE", Message: fmt.Sprintf("hoop: row %d could not be decoded for the recording: %v", rs.r.RowCount, err)})
		return
	}
	rs.bytes += rowSize(row)
	rs.r.Rows = append(rs.r.Rows, row)
}

// relayResults forwards the upstream's answer to a statement (COM_QUERY,
// COM_STMT_EXECUTE): result sets, OK and ERR packets and LOCAL INFILE
// requests, until one says no more results follow. Each result is recorded.
// binary says rows are in the binary protocol (COM_STMT_EXECUTE); st, when
// known, receives the columns of a cursor the execution opens.
func (c *conn) relayResults(cmd uint64, start time.Time, binary bool, st *stmt) error {
	var copied *session.Copy
	for {
		p, err := c.readUpstream()
		if err != nil {
			return err
		}
		if len(p) > 0 && p[0] == gm.LocalInFile_HEADER {
			if copied, err = c.localInfile(p); err != nil {
				return err
			}
			continue
		}
		if err := c.writeClient(p); err != nil {
			return err
		}
		switch {
		case isErr(p):
			r := &session.Result{Command: cmd, Duration: time.Since(start), Copy: copied}
			e, err := decodeErr(p)
			if err != nil {
				return &upstreamError{err}
			}
			r.Error = e.event()
			return c.result(r)
		case isOK(p):
			ok, err := decodeOK(p)
			if err != nil {
				return &upstreamError{err}
			}
			err = c.result(&session.Result{
				Command: cmd, Duration: time.Since(start), Copy: copied,
				AffectedRows: ok.AffectedRows, LastInsertID: ok.LastInsertID, Warnings: ok.Warnings, Info: ok.Info,
			})
			copied = nil
			if err != nil || ok.Status&gm.SERVER_MORE_RESULTS_EXISTS == 0 {
				return err
			}
		default:
			more, err := c.relayResultSet(p, cmd, start, binary, st)
			if err != nil || !more {
				return err
			}
		}
	}
}

// relayResultSet forwards a result set whose column count p was already
// forwarded: the column definitions, an EOF, the rows and the final EOF or
// ERR. It reports whether more results follow.
func (c *conn) relayResultSet(p []byte, cmd uint64, start time.Time, binary bool, st *stmt) (more bool, err error) {
	d := decoder{b: p}
	n, _ := d.lenenc()
	if d.err != nil || !d.empty() || n == 0 || n > 4096 {
		return false, &upstreamError{fmt.Errorf("%w: column count packet", ErrMalformed)}
	}
	rs := c.newResultSet(cmd, binary)
	if rs.cols, err = c.relayColumns(int(n)); err != nil {
		return false, err
	}
	rs.r.Columns = columns(rs.cols)
	eof, err := c.relayEOF()
	if err != nil {
		return false, err
	}
	if st != nil && eof.Status&gm.SERVER_STATUS_CURSOR_EXISTS != 0 {
		// A cursor is open: the rows come with COM_STMT_FETCH.
		st.cursor = rs.cols
		rs.r.Info = "cursor opened"
		rs.r.Duration = time.Since(start)
		return eof.Status&gm.SERVER_MORE_RESULTS_EXISTS != 0, c.result(&rs.r)
	}
	return c.relayRows(rs, start)
}

// relayRows forwards rows until the EOF or ERR that ends them, and records
// the result.
func (c *conn) relayRows(rs *resultSet, start time.Time) (more bool, err error) {
	for {
		p, err := c.relay()
		if err != nil {
			return false, err
		}
		switch {
		case isEOF(p):
			eof, err := decodeEOF(p)
			if err != nil {
				return false, &upstreamError{err}
			}
			rs.r.Warnings = eof.Warnings
			rs.r.Duration = time.Since(start)
			return eof.Status&gm.SERVER_MORE_RESULTS_EXISTS != 0, c.result(&rs.r)
		case isErr(p):
			e, err := decodeErr(p)
			if err != nil {
				return false, &upstreamError{err}
			}
			rs.r.Error = e.event()
			rs.r.Duration = time.Since(start)
			return false, c.result(&rs.r)
		default:
			rs.row(p)
		}
	}
}

// relayColumns forwards and decodes n column definitions.
func (c *conn) relayColumns(n int) ([]columnDefinition, error) {
	cols := make([]columnDefinition, n)
	for i := range cols {
		p, err := c.relay()
		if err != nil {
			return nil, err
		}
		if cols[i], err = decodeColumnDefinition(p); err != nil {
			return nil, &upstreamError{err}
		}
	}
	return cols, nil
}

// relayEOF forwards the EOF packet that ends column definitions.
func (c *conn) relayEOF() (eofPacket, error) {
	p, err := c.relay()
	if err != nil {
		return eofPacket{}, err
	}
	e, err := decodeEOF(p)
	if err != nil {
		return eofPacket{}, &upstreamError{err}
	}
	return e, nil
}

func columns(defs []columnDefinition) []session.Column {
	cols := make([]session.Column, len(defs))
	for i := range defs {
		cols[i] = defs[i].column()
	}
	return cols
}
