package mysql

import (
	"fmt"
	"strconv"

	gm "github.com/go-mysql-org/go-mysql/mysql"

	"github.com/hoophq/hoop/session"
)

// Cursor types of COM_STMT_EXECUTE's flags.
const cursorTypeReadOnly = 0x01

// comStmtExecute is COM_STMT_EXECUTE: a prepared statement's id, flags (a
// cursor to open), and its parameters in the binary protocol, preceded by
// their types when the client binds new ones.
type comStmtExecute struct {
	StmtID     uint32
	Flags      byte
	Iterations uint32
	// Types are the types bound by this packet; nil when it reuses the
	// previous execution's.
	Types  []paramType
	Params []session.Value
}

// decodeComStmtExecute decodes p for a statement with numParams parameters.
// prev are the types the previous execution bound; long holds the values sent
// with COM_STMT_SEND_LONG_DATA, which the packet leaves out.
func decodeComStmtExecute(p []byte, numParams int, prev []paramType, long map[uint16][]byte) (*comStmtExecute, error) {
	d := decoder{b: p[1:]}
	e := &comStmtExecute{StmtID: d.u32(), Flags: d.u8(), Iterations: d.u32()}
	if d.err != nil {
		return nil, fmt.Errorf("%w: COM_STMT_EXECUTE header", ErrMalformed)
	}
	if numParams == 0 {
		return e, nil
	}
	nulls := d.n((numParams + 7) / 8)
	bound := d.u8()
	if d.err != nil {
		return nil, fmt.Errorf("%w: COM_STMT_EXECUTE NULL bitmap", ErrMalformed)
	}
	types := prev
	if bound == 1 {
		types = make([]paramType, numParams)
		for i := range types {
			t, flags := d.u8(), d.u8()
			types[i] = paramType{Type: t, Unsigned: flags&0x80 != 0}
		}
		if d.err != nil {
			return nil, fmt.Errorf("%w: COM_STMT_EXECUTE parameter types", ErrMalformed)
		}
		e.Types = types
	}
	if len(types) != numParams {
		return nil, fmt.Errorf("%w: COM_STMT_EXECUTE without parameter types", ErrMalformed)
	}
	e.Params = make([]session.Value, numParams)
	for i := range e.Params {
		if nulls[i/8]&(1<<(i%8)) != 0 {
			continue
		}
		if data, ok := long[uint16(i)]; ok {
			e.Params[i] = value(text(data))
			continue
		}
		s, err := decodeBinaryValue(&d, types[i].Type, types[i].Unsigned)
		if err != nil {
			return nil, fmt.Errorf("COM_STMT_EXECUTE parameter %d: %w", i+1, err)
		}
		if types[i].Type != gm.MYSQL_TYPE_NULL {
			e.Params[i] = value(s)
		}
	}
	return e, nil
}

// comStmtExecute records the execution with the statement's text and its
// decoded parameters, and relays binary result rows.
func (c *conn) comStmtExecute(p []byte) error {
	d := decoder{b: p[1:]}
	id := d.u32()
	if d.err != nil {
		return fmt.Errorf("%w: COM_STMT_EXECUTE header", ErrMalformed)
	}
	cmd := &session.Command{Type: "execute", Statement: strconv.FormatUint(uint64(id), 10)}
	st := c.lookup(id)
	if st != nil {
		e, err := decodeComStmtExecute(p, st.numParams, st.types, st.longData)
		if err != nil {
			return err
		}
		if e.Types != nil {
			st.types = e.Types
		}
		cmd.Text, cmd.Statement, cmd.Params = st.text, strconv.FormatUint(uint64(st.id), 10), e.Params
		for _, t := range st.types {
			cmd.ParamTypes = append(cmd.ParamTypes, paramTypeName(t))
		}
		st.longData, st.longSize, st.cursor = nil, nil, nil
	}
	// Otherwise the server answers "Unknown prepared statement handler".
	seq, start, sent, err := c.recordAndForward(cmd, p)
	if !sent {
		return err
	}
	return c.relayResults(seq, start, true, st)
}

// paramTypeName names a bound parameter's type. Drivers bind strings and
// bytes alike as MYSQL_TYPE_STRING, so those are "string".
func paramTypeName(t paramType) string {
	switch t.Type {
	case gm.MYSQL_TYPE_STRING, gm.MYSQL_TYPE_VAR_STRING, gm.MYSQL_TYPE_VARCHAR:
		return "string"
	case gm.MYSQL_TYPE_TINY_BLOB, gm.MYSQL_TYPE_MEDIUM_BLOB, gm.MYSQL_TYPE_LONG_BLOB, gm.MYSQL_TYPE_BLOB:
		return "blob"
	}
	return typeName(t.Type, t.Unsigned, 0)
}
