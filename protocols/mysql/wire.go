package mysql

import (
	"bytes"
	"encoding/binary"
	"errors"

	gm "github.com/go-mysql-org/go-mysql/mysql"
)

// ErrMalformed is wrapped by every decoding error of this package: a packet
// too short for what it announces, or a field out of range.
var ErrMalformed = errors.New("malformed packet")

// decoder reads the protocol's basic types ("Basic Data Types": fixed-length
// integers, length-encoded integers and strings, NUL-terminated strings) from
// one payload. The first short read sets err, after which every method returns
// zero values; callers check err once at the end.
type decoder struct {
	b   []byte
	err error
}

func (d *decoder) fail() {
	if d.err == nil {
		d.err = ErrMalformed
	}
	d.b = nil
}

// n returns the next k bytes (aliasing the payload).
func (d *decoder) n(k int) []byte {
	if k < 0 || len(d.b) < k {
		d.fail()
		return nil
	}
	v := d.b[:k:k]
	d.b = d.b[k:]
	return v
}

func (d *decoder) u8() byte {
	v := d.n(1)
	if v == nil {
		return 0
	}
	return v[0]
}

func (d *decoder) u16() uint16 {
	v := d.n(2)
	if v == nil {
		return 0
	}
	return binary.LittleEndian.Uint16(v)
}

func (d *decoder) u32() uint32 {
	v := d.n(4)
	if v == nil {
		return 0
	}
	return binary.LittleEndian.Uint32(v)
}

func (d *decoder) u64() uint64 {
	v := d.n(8)
	if v == nil {
		return 0
	}
	return binary.LittleEndian.Uint64(v)
}

// lenenc reads a length-encoded integer; null is true for 0xfb (SQL NULL in
// a text row).
func (d *decoder) lenenc() (v uint64, null bool) {
	switch b := d.u8(); b {
	case 0xfb:
		return 0, true
	case 0xfc:
		return uint64(d.u16()), false
	case 0xfd:
		v := d.n(3)
		if v == nil {
			return 0, false
		}
		return uint64(v[0]) | uint64(v[1])<<8 | uint64(v[2])<<16, false
	case 0xfe:
		return d.u64(), false
	case 0xff:
		d.fail()
		return 0, false
	default:
		return uint64(b), false
	}
}

// lenencBytes reads a length-encoded string.
func (d *decoder) lenencBytes() (v []byte, null bool) {
	n, null := d.lenenc()
	if null || d.err != nil {
		return nil, null
	}
	if n > uint64(len(d.b)) {
		d.fail()
		return nil, false
	}
	return d.n(int(n)), false
}

// nul reads a NUL-terminated string.
func (d *decoder) nul() []byte {
	i := bytes.IndexByte(d.b, 0)
	if i < 0 {
		d.fail()
		return nil
	}
	v := d.b[:i:i]
	d.b = d.b[i+1:]
	return v
}

// rest returns the remaining bytes.
func (d *decoder) rest() []byte {
	v := d.b
	d.b = nil
	return v
}

func (d *decoder) empty() bool { return len(d.b) == 0 }

func appendU16(b []byte, v uint16) []byte { return binary.LittleEndian.AppendUint16(b, v) }
func appendU32(b []byte, v uint32) []byte { return binary.LittleEndian.AppendUint32(b, v) }

func appendLenenc(b []byte, v uint64) []byte { return gm.AppendLengthEncodedInteger(b, v) }

func appendLenencString(b []byte, s []byte) []byte {
	return append(appendLenenc(b, uint64(len(s))), s...)
}

func appendNul(b []byte, s string) []byte { return append(append(b, s...), 0) }
