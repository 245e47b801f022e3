package mysql

import (
	"fmt"

	gm "github.com/go-mysql-org/go-mysql/mysql"
)

// eofPacket is the EOF_Packet that ends column definitions and rows (the
// broker does not negotiate CLIENT_DEPRECATE_EOF, so servers always send it).
type eofPacket struct {
	Warnings uint16
	Status   uint16
}

// isEOF reports whether p is an EOF packet: 0xfe and shorter than 9 bytes,
// which tells it from a row whose first value has an 8-byte length.
func isEOF(p []byte) bool { return len(p) > 0 && len(p) < 9 && p[0] == gm.EOF_HEADER }

func decodeEOF(p []byte) (eofPacket, error) {
	if !isEOF(p) {
		return eofPacket{}, fmt.Errorf("%w: not an EOF packet", ErrMalformed)
	}
	d := decoder{b: p[1:]}
	e := eofPacket{Warnings: d.u16(), Status: d.u16()}
	if d.err != nil {
		// Pre-4.1 servers send a bare 0xfe.
		return eofPacket{}, nil
	}
	return e, nil
}

func (e eofPacket) encode(b []byte) []byte {
	b = append(b, gm.EOF_HEADER)
	b = appendU16(b, e.Warnings)
	return appendU16(b, e.Status)
}
