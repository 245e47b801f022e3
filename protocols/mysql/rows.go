package mysql

import (
	"fmt"

	gm "github.com/go-mysql-org/go-mysql/mysql"

	"github.com/hoophq/hoop/session"
)

// decodeTextRow decodes a ProtocolText::ResultsetRow of n columns: one
// length-encoded string per column, 0xfb for NULL.
func decodeTextRow(p []byte, n int) ([]session.Value, error) {
	d := decoder{b: p}
	row := make([]session.Value, n)
	for i := range row {
		v, null := d.lenencBytes()
		if d.err != nil {
			return nil, fmt.Errorf("%w: text row, column %d of %d", ErrMalformed, i+1, n)
		}
		if !null {
			row[i] = value(text(v))
		}
	}
	if !d.empty() {
		return nil, fmt.Errorf("%w: text row has %d bytes after %d columns", ErrMalformed, len(d.b), n)
	}
	return row, nil
}

// decodeBinaryRow decodes a ProtocolBinary::ResultsetRow: a 0x00 header, a
// NULL bitmap offset by 2 bits, then the non-NULL values by column type.
func decodeBinaryRow(p []byte, cols []columnDefinition) ([]session.Value, error) {
	d := decoder{b: p}
	if d.u8() != gm.OK_HEADER {
		return nil, fmt.Errorf("%w: binary row without its 0x00 header", ErrMalformed)
	}
	nulls := d.n((len(cols) + 7 + 2) / 8)
	if d.err != nil {
		return nil, fmt.Errorf("%w: binary row NULL bitmap", ErrMalformed)
	}
	row := make([]session.Value, len(cols))
	for i, c := range cols {
		bit := i + 2
		if nulls[bit/8]&(1<<(bit%8)) != 0 {
			continue
		}
		s, err := decodeBinaryValue(&d, c.Type, c.unsigned())
		if err != nil {
			return nil, fmt.Errorf("column %d (%s): %w", i+1, c.Name, err)
		}
		if c.Type != gm.MYSQL_TYPE_NULL {
			row[i] = value(s)
		}
	}
	if !d.empty() {
		return nil, fmt.Errorf("%w: binary row has %d bytes after %d columns", ErrMalformed, len(d.b), len(cols))
	}
	return row, nil
}

// rowSize is what a row costs against the recording's byte cap.
func rowSize(row []session.Value) int {
	n := 0
	for _, v := range row {
		if v != nil {
			n += len(*v)
		}
		n++
	}
	return n
}
