package mysql

import (
	"encoding/binary"
	"fmt"
	"math"
	"strconv"
	"unicode/utf8"

	gm "github.com/go-mysql-org/go-mysql/mysql"

	"github.com/hoophq/hoop/session"
)

// decodeBinaryValue reads one value of the binary protocol ("Binary Protocol
// Value"): the encoding of COM_STMT_EXECUTE parameters and of binary result
// rows. It returns the value as the text protocol would show it.
func decodeBinaryValue(d *decoder, t byte, unsigned bool) (string, error) {
	var s string
	switch t {
	case gm.MYSQL_TYPE_NULL:
		return "", nil
	case gm.MYSQL_TYPE_TINY:
		v := d.u8()
		if unsigned {
			s = strconv.FormatUint(uint64(v), 10)
		} else {
			s = strconv.FormatInt(int64(int8(v)), 10)
		}
	case gm.MYSQL_TYPE_SHORT, gm.MYSQL_TYPE_YEAR:
		v := d.u16()
		if unsigned || t == gm.MYSQL_TYPE_YEAR {
			s = strconv.FormatUint(uint64(v), 10)
		} else {
			s = strconv.FormatInt(int64(int16(v)), 10)
		}
	case gm.MYSQL_TYPE_INT24, gm.MYSQL_TYPE_LONG:
		v := d.u32()
		if unsigned {
			s = strconv.FormatUint(uint64(v), 10)
		} else {
			s = strconv.FormatInt(int64(int32(v)), 10)
		}
	case gm.MYSQL_TYPE_LONGLONG:
		v := d.u64()
		if unsigned {
			s = strconv.FormatUint(v, 10)
		} else {
			s = strconv.FormatInt(int64(v), 10)
		}
	case gm.MYSQL_TYPE_FLOAT:
		s = strconv.FormatFloat(float64(math.Float32frombits(d.u32())), 'g', -1, 32)
	case gm.MYSQL_TYPE_DOUBLE:
		s = strconv.FormatFloat(math.Float64frombits(d.u64()), 'g', -1, 64)
	case gm.MYSQL_TYPE_DECIMAL, gm.MYSQL_TYPE_NEWDECIMAL, gm.MYSQL_TYPE_VARCHAR, gm.MYSQL_TYPE_BIT,
		gm.MYSQL_TYPE_ENUM, gm.MYSQL_TYPE_SET, gm.MYSQL_TYPE_TINY_BLOB, gm.MYSQL_TYPE_MEDIUM_BLOB,
		gm.MYSQL_TYPE_LONG_BLOB, gm.MYSQL_TYPE_BLOB, gm.MYSQL_TYPE_VAR_STRING, gm.MYSQL_TYPE_STRING,
		gm.MYSQL_TYPE_GEOMETRY, gm.MYSQL_TYPE_JSON, gm.MYSQL_TYPE_VECTOR:
		v, _ := d.lenencBytes()
		s = text(v)
	case gm.MYSQL_TYPE_DATE, gm.MYSQL_TYPE_NEWDATE, gm.MYSQL_TYPE_DATETIME, gm.MYSQL_TYPE_TIMESTAMP,
		gm.MYSQL_TYPE_DATETIME2, gm.MYSQL_TYPE_TIMESTAMP2:
		v := d.n(int(d.u8()))
		if d.err != nil {
			break
		}
		var err error
		s, err = formatDateTime(v, t == gm.MYSQL_TYPE_DATE || t == gm.MYSQL_TYPE_NEWDATE)
		if err != nil {
			return "", err
		}
	case gm.MYSQL_TYPE_TIME, gm.MYSQL_TYPE_TIME2:
		v := d.n(int(d.u8()))
		if d.err != nil {
			break
		}
		var err error
		s, err = formatTime(v)
		if err != nil {
			return "", err
		}
	default:
		return "", fmt.Errorf("%w: unknown binary value type %d", ErrMalformed, t)
	}
	if d.err != nil {
		return "", fmt.Errorf("%w: binary value of type %d", ErrMalformed, t)
	}
	return s, nil
}

// formatDateTime formats a binary DATE/DATETIME/TIMESTAMP of 0, 4, 7 or 11
// bytes.
func formatDateTime(v []byte, dateOnly bool) (string, error) {
	switch len(v) {
	case 0:
		if dateOnly {
			return "0000-00-00", nil
		}
		return "0000-00-00 00:00:00", nil
	case 4, 7, 11:
	default:
		return "", fmt.Errorf("%w: date/time value of %d bytes", ErrMalformed, len(v))
	}
	s := fmt.Sprintf("%04d-%02d-%02d", binary.LittleEndian.Uint16(v), v[2], v[3])
	if dateOnly {
		return s, nil
	}
	if len(v) == 4 {
		return s + " 00:00:00", nil
	}
	s += fmt.Sprintf(" %02d:%02d:%02d", v[4], v[5], v[6])
	if len(v) == 11 {
		s += fmt.Sprintf(".%06d", binary.LittleEndian.Uint32(v[7:]))
	}
	return s, nil
}

// formatTime formats a binary TIME of 0, 8 or 12 bytes.
func formatTime(v []byte) (string, error) {
	switch len(v) {
	case 0:
		return "00:00:00", nil
	case 8, 12:
	default:
		return "", fmt.Errorf("%w: time value of %d bytes", ErrMalformed, len(v))
	}
	sign := ""
	if v[0] == 1 {
		sign = "-"
	}
	hours := uint64(binary.LittleEndian.Uint32(v[1:]))*24 + uint64(v[5])
	s := fmt.Sprintf("%s%02d:%02d:%02d", sign, hours, v[6], v[7])
	if len(v) == 12 {
		s += fmt.Sprintf(".%06d", binary.LittleEndian.Uint32(v[8:]))
	}
	return s, nil
}

// text shows bytes as the recording keeps them: UTF-8 as is, anything else as
// 0x-prefixed hex, as the mysql client's --binary-as-hex shows it.
func text(b []byte) string {
	if utf8.Valid(b) {
		return string(b)
	}
	return fmt.Sprintf("0x%X", b)
}

func value(s string) session.Value { return &s }
