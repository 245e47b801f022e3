package postgres

import (
	"sync"
	"time"

	"github.com/jackc/pgx/v5/pgproto3"
	"github.com/jackc/pgx/v5/pgtype"

	"github.com/hoophq/hoop/config"
	"github.com/hoophq/hoop/session"
)

// COPY directions, as recorded.
const (
	copyDirIn  = "in"
	copyDirOut = "out"
)

// A resultBuilder accumulates the result of one statement, keeping rows up to
// the connection's caps and counting all of them. The backend goroutine owns
// it.
type resultBuilder struct {
	res      session.Result
	fields   []field // how to render the rows
	haveCols bool
	kept     int64 // bytes of row data kept
	maxRows  int
	maxBytes int64
	start    time.Time
	// copyDir is set by CopyInResponse / CopyOutResponse.
	copyDir string
	copyOut copyData
}

func newResult(seq uint64, start time.Time, caps config.Recording) *resultBuilder {
	maxRows := caps.MaxRows
	if maxRows <= 0 {
		maxRows = config.DefaultMaxRows
	}
	maxBytes := int64(caps.MaxBytes)
	if maxBytes <= 0 {
		maxBytes = config.DefaultMaxBytes
	}
	b := &resultBuilder{maxRows: maxRows, maxBytes: maxBytes, start: start}
	b.res.Command = seq
	return b
}

// setFields sets the result's columns from a row description.
func (b *resultBuilder) setFields(m *pgtype.Map, fields []field) {
	b.fields = fields
	b.haveCols = true
	b.res.Columns = make([]session.Column, len(fields))
	for i, f := range fields {
		b.res.Columns[i] = session.Column{Name: f.name, Type: typeName(m, f.oid)}
	}
}

// full reports whether the caps have cut the result: further rows are only
// counted.
func (b *resultBuilder) full() bool { return b.res.Truncated }

// row counts a row and keeps it, rendered as text, while the caps allow.
// values alias the message buffer; row copies what it keeps.
func (b *resultBuilder) row(m *pgtype.Map, values [][]byte) {
	b.res.RowCount++
	if b.res.Truncated {
		return
	}
	var size int64
	for _, v := range values {
		size += int64(len(v))
	}
	if len(b.res.Rows) >= b.maxRows || b.kept+size > b.maxBytes {
		b.res.Truncated = true
		return
	}
	b.kept += size
	row := make([]session.Value, len(values))
	for i, v := range values {
		if v == nil {
			continue
		}
		var oid uint32
		format := formatText
		if i < len(b.fields) {
			oid, format = b.fields[i].oid, b.fields[i].format
		}
		s := valueText(m, oid, format, v)
		row[i] = &s
	}
	b.res.Rows = append(b.res.Rows, row)
}

// finish completes the result.
func (b *resultBuilder) finish(now time.Time) *session.Result {
	if b.copyDir == copyDirOut {
		b.res.Copy = b.copyOut.result(copyDirOut)
	}
	if d := now.Sub(b.start); d > 0 {
		b.res.Duration = d
	}
	return &b.res
}

// copyData counts the bytes of a COPY and keeps the first ones.
type copyData struct {
	bytes     int64
	data      []byte
	truncated bool
}

func (c *copyData) add(p []byte, max int64) {
	c.bytes += int64(len(p))
	if room := max - int64(len(c.data)); room > 0 {
		if int64(len(p)) > room {
			p = p[:room]
			c.truncated = true
		}
		c.data = append(c.data, p...)
	} else if len(p) > 0 {
		c.truncated = true
	}
}

func (c *copyData) result(dir string) *session.Copy {
	return &session.Copy{Direction: dir, Bytes: c.bytes, Data: string(c.data), Truncated: c.truncated}
}

// copyIn is the client's COPY data for one command: the frontend adds to it
// as it forwards CopyData, the backend takes it when the server completes the
// command (which it does only after the frontend forwarded CopyDone).
type copyIn struct {
	mu   sync.Mutex
	data copyData
	used bool
}

func (c *copyIn) add(p []byte, max int64) {
	c.mu.Lock()
	c.data.add(p, max)
	c.used = true
	c.mu.Unlock()
}

// take returns what was counted and starts over, for a query with several
// COPY statements.
func (c *copyIn) take() *session.Copy {
	c.mu.Lock()
	defer c.mu.Unlock()
	out := c.data.result(copyDirIn)
	c.data, c.used = copyData{}, false
	return out
}

// sessionError converts an ErrorResponse or NoticeResponse for the recording.
func sessionError(e *pgproto3.ErrorResponse) *session.Error {
	sev := e.SeverityUnlocalized
	if sev == "" {
		sev = e.Severity
	}
	return &session.Error{
		Severity: sev,
		Code:     e.Code,
		Message:  e.Message,
		Detail:   e.Detail,
		Hint:     e.Hint,
		Position: e.Position,
	}
}
