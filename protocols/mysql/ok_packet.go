package mysql

import (
	"fmt"

	gm "github.com/go-mysql-org/go-mysql/mysql"
)

// okPacket is the OK_Packet of protocol 4.1 without session tracking (the
// broker does not negotiate CLIENT_SESSION_TRACK).
type okPacket struct {
	AffectedRows uint64
	LastInsertID uint64
	Status       uint16
	Warnings     uint16
	Info         string
}

// isOK reports whether p is an OK packet where a result may start.
func isOK(p []byte) bool { return len(p) >= 7 && p[0] == gm.OK_HEADER }

func decodeOK(p []byte) (*okPacket, error) {
	d := decoder{b: p}
	if d.u8() != gm.OK_HEADER {
		return nil, fmt.Errorf("%w: not an OK packet", ErrMalformed)
	}
	ok := &okPacket{}
	ok.AffectedRows, _ = d.lenenc()
	ok.LastInsertID, _ = d.lenenc()
	ok.Status = d.u16()
	ok.Warnings = d.u16()
	if d.err != nil {
		return nil, fmt.Errorf("%w: OK packet", ErrMalformed)
	}
	ok.Info = okInfo(d.rest())
	return ok, nil
}

// okInfo reads the human-readable info that ends an OK packet. Servers send
// it length-encoded (as libmysql reads it) though the protocol documents a
// bare string without CLIENT_SESSION_TRACK; a bare string is taken as is.
func okInfo(b []byte) string {
	d := decoder{b: b}
	if v, _ := d.lenencBytes(); d.err == nil && d.empty() {
		return string(v)
	}
	return string(b)
}

func (ok *okPacket) encode(b []byte) []byte {
	b = append(b, gm.OK_HEADER)
	b = appendLenenc(b, ok.AffectedRows)
	b = appendLenenc(b, ok.LastInsertID)
	b = appendU16(b, ok.Status)
	b = appendU16(b, ok.Warnings)
	if ok.Info == "" {
		return b
	}
	return appendLenencString(b, []byte(ok.Info))
}
