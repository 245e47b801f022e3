package mysql

import (
	"fmt"
	"time"

	"github.com/hoophq/hoop/session"
)

// comFieldList is COM_FIELD_LIST (deprecated, still sent by the mysql
// client's auto-rehash): the columns of a table, optionally filtered by a
// LIKE wildcard.
type comFieldList struct {
	Table    string
	Wildcard string
}

func decodeComFieldList(p []byte) (comFieldList, error) {
	d := decoder{b: p[1:]}
	f := comFieldList{Table: string(d.nul())}
	if d.err != nil {
		return f, fmt.Errorf("%w: COM_FIELD_LIST", ErrMalformed)
	}
	f.Wildcard = string(d.rest())
	return f, nil
}

// comFieldList records the column definitions it returns as rows of
// (Field, Type).
func (c *conn) comFieldList(p []byte) error {
	f, err := decodeComFieldList(p)
	if err != nil {
		return err
	}
	text := f.Table
	if f.Wildcard != "" {
		text += " " + f.Wildcard
	}
	cmd := &session.Command{Type: "field_list", Text: text}
	seq, start, sent, err := c.recordAndForward(cmd, p)
	if !sent {
		return err
	}
	rs := c.newResultSet(seq, false)
	rs.r.Columns = []session.Column{{Name: "Field"}, {Name: "Type"}}
	for {
		p, err := c.relay()
		if err != nil {
			return err
		}
		if isEOF(p) || isErr(p) {
			if isErr(p) {
				e, err := decodeErr(p)
				if err != nil {
					return &upstreamError{err}
				}
				rs.r.Error = e.event()
			}
			rs.r.Duration = time.Since(start)
			return c.result(&rs.r)
		}
		col, err := decodeColumnDefinition(p)
		if err != nil {
			return &upstreamError{err}
		}
		rs.r.RowCount++
		if len(rs.r.Rows) < rs.caps.MaxRows {
			cd := col.column()
			rs.r.Rows = append(rs.r.Rows, []session.Value{value(cd.Name), value(cd.Type)})
		} else {
			rs.r.Truncated = true
		}
	}
}
