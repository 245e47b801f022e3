package session

import (
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"
	"slices"
	"time"
)

// RecordVersion is the version byte of records written by this package.
const RecordVersion = 1

// HashSize is the size of a record hash (SHA-256).
const HashSize = sha256.Size

// Record is the stored form of one event. On disk it is:
//
//	u32  length of what follows (big endian)
//	u8   version (1)
//	u64  seq
//	i64  time, Unix nanoseconds
//	u8   kind length, kind
//	[32] prev: hash of the previous record of the session (GenesisHash for seq 1)
//	u32  payload length, payload (JSON)
//	u32  meta length, meta (JSON object, may be empty)
//	u8   signature length (0, or 64 on session.end), signature
//
// A record's hash is the SHA-256 of everything after the length prefix up to the
// signature length byte, so the seal signs the hash of its own record.
type Record struct {
	Seq     uint64
	Time    time.Time
	Kind    Kind
	Prev    [HashSize]byte
	Payload []byte
	Meta    []byte
	Sig     []byte
}

// ErrMalformed is returned (wrapped) by ParseRecord for bytes that are not a record.
var ErrMalformed = errors.New("malformed record")

// GenesisHash is the prev of a session's first record: it binds the chain to the
// session id, so records can't be moved between sessions.
func GenesisHash(sessionID string) [HashSize]byte {
	return sha256.Sum256([]byte("hoop/v1 session " + sessionID))
}

// Marshal encodes r, appending to dst.
func (r *Record) Marshal(dst []byte) []byte {
	n := 1 + 8 + 8 + 1 + len(r.Kind) + HashSize + 4 + len(r.Payload) + 4 + len(r.Meta) + 1 + len(r.Sig)
	dst = slices.Grow(dst, 4+n)
	dst = binary.BigEndian.AppendUint32(dst, uint32(n))
	dst = append(dst, RecordVersion)
	dst = binary.BigEndian.AppendUint64(dst, r.Seq)
	dst = binary.BigEndian.AppendUint64(dst, uint64(r.Time.UnixNano()))
	dst = append(dst, byte(len(r.Kind)))
	dst = append(dst, r.Kind...)
	dst = append(dst, r.Prev[:]...)
	dst = binary.BigEndian.AppendUint32(dst, uint32(len(r.Payload)))
	dst = append(dst, r.Payload...)
	dst = binary.BigEndian.AppendUint32(dst, uint32(len(r.Meta)))
	dst = append(dst, r.Meta...)
	dst = append(dst, byte(len(r.Sig)))
	dst = append(dst, r.Sig...)
	return dst
}

// Hash is the record's hash: what the next record's Prev holds and what the
// seal signs.
func (r *Record) Hash() [HashSize]byte { return frameHash(r.Marshal(nil), len(r.Sig)) }

// frameHash hashes a marshalled record whose signature is sigLen bytes: what
// follows the length prefix, up to the signature length byte.
func frameHash(b []byte, sigLen int) [HashSize]byte {
	return sha256.Sum256(b[4 : len(b)-1-sigLen])
}

// ParseRecord decodes one record, which must fill b exactly. The returned
// record's slices alias b.
func ParseRecord(b []byte) (*Record, error) {
	d := decoder{b: b}
	n := d.u32()
	if d.err == nil && int(n) != len(b)-4 {
		return nil, fmt.Errorf("%w: length %d, have %d bytes", ErrMalformed, n, len(b)-4)
	}
	if v := d.u8(); d.err == nil && v != RecordVersion {
		return nil, fmt.Errorf("%w: unknown version %d", ErrMalformed, v)
	}
	var r Record
	r.Seq = d.u64()
	r.Time = time.Unix(0, int64(d.u64())).UTC()
	r.Kind = Kind(d.bytes(int(d.u8())))
	copy(r.Prev[:], d.bytes(HashSize))
	r.Payload = d.bytes(int(d.u32()))
	r.Meta = d.bytes(int(d.u32()))
	r.Sig = d.bytes(int(d.u8()))
	if d.err != nil {
		return nil, d.err
	}
	if len(d.b) != 0 {
		return nil, fmt.Errorf("%w: %d trailing bytes", ErrMalformed, len(d.b))
	}
	if len(r.Sig) != 0 && len(r.Sig) != 64 {
		return nil, fmt.Errorf("%w: signature of %d bytes", ErrMalformed, len(r.Sig))
	}
	return &r, nil
}

// decoder reads big-endian fields, remembering the first error.
type decoder struct {
	b   []byte
	err error
}

func (d *decoder) bytes(n int) []byte {
	if d.err != nil {
		return nil
	}
	if n < 0 || n > len(d.b) {
		d.err = fmt.Errorf("%w: truncated", ErrMalformed)
		return nil
	}
	v := d.b[:n:n]
	d.b = d.b[n:]
	return v
}

func (d *decoder) u8() uint8 {
	if b := d.bytes(1); b != nil {
		return b[0]
	}
	return 0
}

func (d *decoder) u32() uint32 {
	if b := d.bytes(4); b != nil {
		return binary.BigEndian.Uint32(b)
	}
	return 0
}

func (d *decoder) u64() uint64 {
	if b := d.bytes(8); b != nil {
		return binary.BigEndian.Uint64(b)
	}
	return 0
}
