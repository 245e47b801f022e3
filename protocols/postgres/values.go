package postgres

import (
	"encoding/hex"
	"strconv"

	"github.com/jackc/pgx/v5/pgtype"

	"github.com/hoophq/hoop/session"
)

// Wire formats (protocol "Formats and Format Codes").
const (
	formatText   int16 = 0
	formatBinary int16 = 1
)

// formatAt is the format code of value i under a Bind's list of codes: none
// means all text, one applies to all, otherwise one each.
func formatAt(codes []int16, i int) int16 {
	switch {
	case len(codes) == 0:
		return formatText
	case len(codes) == 1:
		return codes[0]
	case i < len(codes):
		return codes[i]
	}
	return formatText
}

// valueText renders a wire value as text for the recording. Text-format
// values are kept as they are; binary ones are decoded by their type and
// re-encoded in the type's text format (what psql would show); values of
// unknown types, or that don't decode, become \x followed by hex, as bytea
// prints.
func valueText(m *pgtype.Map, oid uint32, format int16, v []byte) string {
	if format == formatText {
		return string(v)
	}
	if oid != 0 {
		if t, ok := m.TypeForOID(oid); ok {
			if s, ok := binaryToText(m, t, oid, v); ok {
				return s
			}
		}
	}
	return hexText(v)
}

// binaryToText decodes a binary value and encodes it as text. pgtype codecs
// can panic on hostile input in rare paths; a value is never worth the
// connection.
func binaryToText(m *pgtype.Map, t *pgtype.Type, oid uint32, v []byte) (s string, ok bool) {
	defer func() {
		if recover() != nil {
			s, ok = "", false
		}
	}()
	val, err := t.Codec.DecodeValue(m, oid, formatBinary, v)
	if err != nil || val == nil {
		return "", false
	}
	out, err := m.Encode(oid, formatText, val, nil)
	if err != nil || out == nil {
		return "", false
	}
	return string(out), true
}

func hexText(v []byte) string {
	b := make([]byte, 2+hex.EncodedLen(len(v)))
	b[0], b[1] = '\\', 'x'
	hex.Encode(b[2:], v)
	return string(b)
}

// typeName names a type OID for the recording: pgtype's name for the built-in
// types, the number for others, "" for 0 (unspecified).
func typeName(m *pgtype.Map, oid uint32) string {
	if oid == 0 {
		return ""
	}
	if t, ok := m.TypeForOID(oid); ok {
		return t.Name
	}
	return strconv.FormatUint(uint64(oid), 10)
}

// decodeParams renders the parameters of a Bind for the recording: values in
// order, nil for NULL, with their type names where the OIDs are known (from
// Parse or the server's ParameterDescription).
func decodeParams(m *pgtype.Map, oids []uint32, formats []int16, values [][]byte) ([]session.Value, []string) {
	if len(values) == 0 {
		return nil, nil
	}
	params := make([]session.Value, len(values))
	var types []string
	if len(oids) > 0 {
		types = make([]string, len(values))
	}
	for i, v := range values {
		var oid uint32
		if i < len(oids) {
			oid = oids[i]
			types[i] = typeName(m, oid)
		}
		if v == nil {
			continue
		}
		s := valueText(m, oid, formatAt(formats, i), v)
		params[i] = &s
	}
	return params, types
}
