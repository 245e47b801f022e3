package postgres

import (
	"encoding/binary"
	"math"
	"testing"

	"github.com/jackc/pgx/v5/pgtype"

	"github.com/hoophq/hoop/session"
)

func TestDecodeParams(t *testing.T) {
	m := pgtype.NewMap()
	i4 := binary.BigEndian.AppendUint32(nil, uint32(0xffffffff)) // -1
	f8 := binary.BigEndian.AppendUint64(nil, math.Float64bits(2.5))
	oids := []uint32{pgtype.Int4OID, pgtype.TextOID, pgtype.Float8OID, pgtype.ByteaOID, 0, 999999, pgtype.Int4OID, pgtype.Int4OID}
	values := [][]byte{i4, []byte("text, as is"), f8, {0, 0xff}, []byte{1, 2}, []byte{3}, nil, {1, 2}}
	formats := []int16{1, 0, 1, 1, 1, 1, 1, 1}
	params, types := decodeParams(m, oids, formats, values)
	want := []string{"-1", "text, as is", "2.5", `\x00ff`, `\x0102`, `\x03`, "<NULL>", `\x0102`}
	wantTypes := []string{"int4", "text", "float8", "bytea", "", "999999", "int4", "int4"}
	for i := range want {
		got := "<NULL>"
		if params[i] != nil {
			got = *params[i]
		}
		if got != want[i] || types[i] != wantTypes[i] {
			t.Errorf("param %d: %q %q; want %q %q", i, got, types[i], want[i], wantTypes[i])
		}
	}
	// One format code applies to all; none means text; no OIDs, no types.
	params, types = decodeParams(m, nil, []int16{1}, [][]byte{{0xab}})
	if *params[0] != `\xab` || types != nil {
		t.Errorf("got %q %v", *params[0], types)
	}
	params, _ = decodeParams(m, []uint32{pgtype.Int4OID}, nil, [][]byte{[]byte("12")})
	if *params[0] != "12" {
		t.Errorf("got %q; want the text as is", *params[0])
	}
	if p, ty := decodeParams(m, nil, nil, nil); p != nil || ty != nil {
		t.Errorf("no parameters: %v %v", p, ty)
	}
}

// FuzzDecodeParams: hostile Bind values never panic, whatever the types.
func FuzzDecodeParams(f *testing.F) {
	f.Add(uint32(pgtype.Int4OID), int16(1), []byte{0, 0, 0, 1})
	f.Add(uint32(pgtype.NumericOID), int16(1), []byte{0, 1, 0, 0, 0, 0, 0, 2, 0, 1})
	f.Add(uint32(pgtype.TimestamptzOID), int16(1), []byte{1, 2, 3})
	f.Add(uint32(pgtype.Int4ArrayOID), int16(1), []byte{0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 23, 0, 0, 0, 9, 0, 0, 0, 1})
	f.Add(uint32(pgtype.JSONBOID), int16(1), []byte{1, '{', '}'})
	f.Add(uint32(0), int16(7), []byte("x"))
	m := pgtype.NewMap()
	f.Fuzz(func(t *testing.T, oid uint32, format int16, v []byte) {
		params, _ := decodeParams(m, []uint32{oid, oid}, []int16{format}, [][]byte{v, nil})
		if len(params) != 2 || params[0] == nil || params[1] != nil {
			t.Fatalf("params %v", params)
		}
		var _ session.Value = params[0]
	})
}
