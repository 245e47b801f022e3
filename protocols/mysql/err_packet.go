package mysql

import (
	"fmt"
	"strconv"

	gm "github.com/go-mysql-org/go-mysql/mysql"

	"github.com/hoophq/hoop/session"
)

// errPacket is the ERR_Packet of protocol 4.1.
type errPacket struct {
	Code     uint16
	SQLState string // 5 characters
	Message  string
}

func isErr(p []byte) bool { return len(p) > 0 && p[0] == gm.ERR_HEADER }

func decodeErr(p []byte) (*errPacket, error) {
	d := decoder{b: p}
	if d.u8() != gm.ERR_HEADER {
		return nil, fmt.Errorf("%w: not an ERR packet", ErrMalformed)
	}
	e := &errPacket{Code: d.u16()}
	if len(d.b) >= 6 && d.b[0] == '#' {
		d.n(1)
		e.SQLState = string(d.n(5))
	}
	e.Message = string(d.rest())
	if d.err != nil {
		return nil, fmt.Errorf("%w: ERR packet", ErrMalformed)
	}
	return e, nil
}

func (e *errPacket) encode(b []byte) []byte {
	b = append(b, gm.ERR_HEADER)
	b = appendU16(b, e.Code)
	state := e.SQLState
	if len(state) != 5 {
		state = "HY000"
	}
	b = append(b, '#')
	b = append(b, state...)
	return append(b, e.Message...)
}

// Error makes an errPacket an error: the broker's refusals travel as errPacket
// until they are written to the client.
func (e *errPacket) Error() string {
	return fmt.Sprintf("ERROR %d (%s): %s", e.Code, e.SQLState, e.Message)
}

// event is the recorded form.
func (e *errPacket) event() *session.Error {
	return &session.Error{Severity: "ERROR", Code: strconv.Itoa(int(e.Code)), SQLState: e.SQLState, Message: e.Message}
}

// newErr builds a broker error with the SQLSTATE the server uses for code.
func newErr(code uint16, format string, args ...any) *errPacket {
	state, ok := gm.MySQLState[code]
	if !ok {
		state = "HY000"
	}
	return &errPacket{Code: code, SQLState: state, Message: "hoop: " + fmt.Sprintf(format, args...)}
}
