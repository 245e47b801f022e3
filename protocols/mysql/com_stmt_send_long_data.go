package mysql

import (
	"fmt"
)

// comStmtSendLongData is COM_STMT_SEND_LONG_DATA: a piece of a parameter's
// value, sent before the execution. The server does not answer it.
type comStmtSendLongData struct {
	StmtID uint32
	Param  uint16
	Data   []byte // aliases the packet
}

func decodeComStmtSendLongData(p []byte) (comStmtSendLongData, error) {
	d := decoder{b: p[1:]}
	s := comStmtSendLongData{StmtID: d.u32(), Param: d.u16()}
	if d.err != nil {
		return s, fmt.Errorf("%w: COM_STMT_SEND_LONG_DATA", ErrMalformed)
	}
	s.Data = d.rest()
	return s, nil
}

// comStmtSendLongData forwards the data and keeps its start, up to the
// recording's byte cap, for the execution's record: nothing runs until
// COM_STMT_EXECUTE, which is recorded with it.
func (c *conn) comStmtSendLongData(p []byte) error {
	s, err := decodeComStmtSendLongData(p)
	if err != nil {
		return err
	}
	if st := c.lookup(s.StmtID); st != nil && int(s.Param) < st.numParams {
		if st.longData == nil {
			st.longData, st.longSize = map[uint16][]byte{}, map[uint16]int64{}
		}
		room := int(c.ep.Conn.Recording.MaxBytes) - len(st.longData[s.Param])
		keep := s.Data[:min(max(room, 0), len(s.Data))]
		st.longData[s.Param] = append(st.longData[s.Param], keep...)
		st.longSize[s.Param] += int64(len(s.Data))
	}
	return c.forward(p)
}
