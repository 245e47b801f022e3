// Package sftp decodes the SSH File Transfer Protocol, version 3 as OpenSSH
// speaks it (draft-ietf-secsh-filexfer-02), well enough to record file
// operations: which files were opened, read, written, closed, removed, renamed
// or created, and how many bytes moved. It frames and parses packets; it never
// changes them, so the relay forwards the exact bytes it read.
//
// Packet bodies are parsed with golang.org/x/crypto/ssh's Unmarshal, which
// knows the SSH wire types (uint32, uint64, string) that SFTP reuses.
package sftp

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
)

// Packet types (draft-ietf-secsh-filexfer-02 section 3).
const (
	TypeInit          = 1
	TypeVersion       = 2
	TypeOpen          = 3
	TypeClose         = 4
	TypeRead          = 5
	TypeWrite         = 6
	TypeLstat         = 7
	TypeFstat         = 8
	TypeSetstat       = 9
	TypeFsetstat      = 10
	TypeOpendir       = 11
	TypeReaddir       = 12
	TypeRemove        = 13
	TypeMkdir         = 14
	TypeRmdir         = 15
	TypeRealpath      = 16
	TypeStat          = 17
	TypeRename        = 18
	TypeReadlink      = 19
	TypeSymlink       = 20
	TypeStatus        = 101
	TypeHandle        = 102
	TypeData          = 103
	TypeName          = 104
	TypeAttrs         = 105
	TypeExtended      = 200
	TypeExtendedReply = 201
)

// Status codes (section 7).
const (
	StatusOK               = 0
	StatusEOF              = 1
	StatusNoSuchFile       = 2
	StatusPermissionDenied = 3
	StatusFailure          = 4
	StatusBadMessage       = 5
	StatusOpUnsupported    = 8
)

// Open flags (section 6.3).
const (
	FlagRead   = 0x01
	FlagWrite  = 0x02
	FlagAppend = 0x04
	FlagCreate = 0x08
	FlagTrunc  = 0x10
	FlagExcl   = 0x20
)

// MaxPacket bounds the length of a packet. OpenSSH's sftp-server refuses
// packets over 256 KiB; this leaves room for other servers.
const MaxPacket = 1 << 20

// ErrTooLarge is returned by Reader.Next for a packet over MaxPacket.
var ErrTooLarge = fmt.Errorf("sftp: packet longer than %d bytes", MaxPacket)

// ErrShort is returned for a packet too short to hold its type and id.
var ErrShort = errors.New("sftp: packet too short")

// Reader reads length-framed packets (section 3: uint32 length, then that
// many bytes).
type Reader struct {
	r   io.Reader
	buf []byte
}

// NewReader returns a Reader reading from r.
func NewReader(r io.Reader) *Reader { return &Reader{r: r} }

// Next returns the next packet, its length prefix included. The slice is only
// valid until the next call. It returns io.EOF at a clean end between packets
// and io.ErrUnexpectedEOF inside one.
func (r *Reader) Next() ([]byte, error) {
	if cap(r.buf) < 4 {
		r.buf = make([]byte, 4, 64<<10)
	}
	hdr := r.buf[:4]
	if _, err := io.ReadFull(r.r, hdr); err != nil {
		return nil, err
	}
	n := binary.BigEndian.Uint32(hdr)
	if n > MaxPacket {
		return nil, ErrTooLarge
	}
	size := 4 + int(n)
	if cap(r.buf) < size {
		nb := make([]byte, size)
		copy(nb, hdr)
		r.buf = nb
	}
	p := r.buf[:size]
	if _, err := io.ReadFull(r.r, p[4:]); err != nil {
		if err == io.EOF {
			err = io.ErrUnexpectedEOF
		}
		return nil, err
	}
	return p, nil
}

// Status returns a framed SSH_FXP_STATUS packet (section 7).
func Status(id, code uint32, msg string) []byte {
	body := make([]byte, 0, 4+1+4+4+4+len(msg)+4+2)
	body = append(body, 0, 0, 0, 0, TypeStatus)
	body = binary.BigEndian.AppendUint32(body, id)
	body = binary.BigEndian.AppendUint32(body, code)
	body = binary.BigEndian.AppendUint32(body, uint32(len(msg)))
	body = append(body, msg...)
	body = binary.BigEndian.AppendUint32(body, 2)
	body = append(body, "en"...)
	binary.BigEndian.PutUint32(body, uint32(len(body)-4))
	return body
}

// StatusName is the name of a status code without its SSH_FX_ prefix.
func StatusName(code uint32) string {
	switch code {
	case StatusOK:
		return "OK"
	case StatusEOF:
		return "EOF"
	case StatusNoSuchFile:
		return "NO_SUCH_FILE"
	case StatusPermissionDenied:
		return "PERMISSION_DENIED"
	case StatusFailure:
		return "FAILURE"
	case StatusBadMessage:
		return "BAD_MESSAGE"
	case 6:
		return "NO_CONNECTION"
	case 7:
		return "CONNECTION_LOST"
	case StatusOpUnsupported:
		return "OP_UNSUPPORTED"
	}
	return fmt.Sprintf("%d", code)
}
