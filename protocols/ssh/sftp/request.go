package sftp

import (
	"encoding/binary"
	"fmt"

	"golang.org/x/crypto/ssh"
)

// Request is a client request, decoded as far as recording needs.
type Request struct {
	Type byte
	// ID is the request id (0 for init, which has none).
	ID uint32
	// Paths are the file names the request names, in packet order.
	Paths []string
	// Handle is the file or directory handle it uses.
	Handle string
	// Flags are the open flags (open) .
	Flags uint32
	// Length is the data length of a write or the length a read asks for.
	Length uint64
	// Extension names an extended request (posix-rename@openssh.com).
	Extension string
}

// Wire forms, parsed with ssh.Unmarshal: the sshtype tag checks the type
// byte, and "rest" takes trailing fields (attributes, later versions' extras)
// that recording does not need.
type (
	initPacket struct {
		Version uint32 `sshtype:"1"`
		Rest    []byte `ssh:"rest"`
	}
	openPacket struct {
		ID    uint32 `sshtype:"3"`
		Path  string
		Flags uint32
		Rest  []byte `ssh:"rest"`
	}
	handlePacket struct { // close, fstat, readdir, fsetstat
		ID     uint32 `sshtype:"4|8|10|12"`
		Handle string
		Rest   []byte `ssh:"rest"`
	}
	readPacket struct {
		ID     uint32 `sshtype:"5"`
		Handle string
		Offset uint64
		Len    uint32
	}
	writePacket struct {
		ID     uint32 `sshtype:"6"`
		Handle string
		Offset uint64
		Data   []byte
	}
	pathPacket struct { // lstat, setstat, opendir, remove, mkdir, rmdir, realpath, stat, readlink
		ID   uint32 `sshtype:"7|9|11|13|14|15|16|17|19"`
		Path string
		Rest []byte `ssh:"rest"`
	}
	twoPathPacket struct { // rename, symlink
		ID   uint32 `sshtype:"18|20"`
		A, B string
		Rest []byte `ssh:"rest"`
	}
	extendedPacket struct {
		ID   uint32 `sshtype:"200"`
		Name string
		Data []byte `ssh:"rest"`
	}
	onePath struct {
		Path string
		Rest []byte `ssh:"rest"`
	}
	twoPaths struct {
		A, B string
		Rest []byte `ssh:"rest"`
	}
)

// ParseRequest decodes a client packet (without its length prefix).
func ParseRequest(p []byte) (*Request, error) {
	if len(p) < 1 {
		return nil, ErrShort
	}
	r := &Request{Type: p[0]}
	var err error
	switch p[0] {
	case TypeInit:
		var m initPacket
		err = ssh.Unmarshal(p, &m)
	case TypeOpen:
		var m openPacket
		if err = ssh.Unmarshal(p, &m); err == nil {
			r.ID, r.Paths, r.Flags = m.ID, []string{m.Path}, m.Flags
		}
	case TypeClose, TypeFstat, TypeFsetstat, TypeReaddir:
		var m handlePacket
		if err = ssh.Unmarshal(p, &m); err == nil {
			r.ID, r.Handle = m.ID, m.Handle
		}
	case TypeRead:
		var m readPacket
		if err = ssh.Unmarshal(p, &m); err == nil {
			r.ID, r.Handle, r.Length = m.ID, m.Handle, uint64(m.Len)
		}
	case TypeWrite:
		var m writePacket
		if err = ssh.Unmarshal(p, &m); err == nil {
			r.ID, r.Handle, r.Length = m.ID, m.Handle, uint64(len(m.Data))
		}
	case TypeLstat, TypeSetstat, TypeOpendir, TypeRemove, TypeMkdir, TypeRmdir, TypeRealpath, TypeStat, TypeReadlink:
		var m pathPacket
		if err = ssh.Unmarshal(p, &m); err == nil {
			r.ID, r.Paths = m.ID, []string{m.Path}
		}
	case TypeRename, TypeSymlink:
		var m twoPathPacket
		if err = ssh.Unmarshal(p, &m); err == nil {
			r.ID, r.Paths = m.ID, []string{m.A, m.B}
		}
	case TypeExtended:
		var m extendedPacket
		if err = ssh.Unmarshal(p, &m); err == nil {
			r.ID, r.Extension = m.ID, m.Name
			err = r.parseExtension(m.Data)
		}
	default:
		// An unknown request: keep its id so a refusal can answer it.
		if len(p) < 5 {
			return nil, ErrShort
		}
		r.ID = binary.BigEndian.Uint32(p[1:5])
	}
	if err != nil {
		return nil, fmt.Errorf("sftp: malformed %s: %w", PacketName(p[0]), err)
	}
	return r, nil
}

// parseExtension decodes the OpenSSH extensions that name files (OpenSSH
// PROTOCOL, section 4).
func (r *Request) parseExtension(data []byte) error {
	switch r.Extension {
	case "posix-rename@openssh.com", "hardlink@openssh.com":
		var m twoPaths
		if err := ssh.Unmarshal(data, &m); err != nil {
			return err
		}
		r.Paths = []string{m.A, m.B}
	case "statvfs@openssh.com", "lsetstat@openssh.com", "expand-path@openssh.com":
		var m onePath
		if err := ssh.Unmarshal(data, &m); err != nil {
			return err
		}
		r.Paths = []string{m.Path}
	case "fsync@openssh.com", "fstatvfs@openssh.com":
		var m struct {
			Handle string
			Rest   []byte `ssh:"rest"`
		}
		if err := ssh.Unmarshal(data, &m); err != nil {
			return err
		}
		r.Handle = m.Handle
	}
	return nil
}

// PacketName names a packet type as the draft does, without SSH_FXP_.
func PacketName(t byte) string {
	if n, ok := typeNames[t]; ok {
		return n
	}
	return fmt.Sprintf("type %d", t)
}

var typeNames = map[byte]string{
	TypeInit: "init", TypeVersion: "version", TypeOpen: "open", TypeClose: "close", TypeRead: "read",
	TypeWrite: "write", TypeLstat: "lstat", TypeFstat: "fstat", TypeSetstat: "setstat",
	TypeFsetstat: "fsetstat", TypeOpendir: "opendir", TypeReaddir: "readdir", TypeRemove: "remove",
	TypeMkdir: "mkdir", TypeRmdir: "rmdir", TypeRealpath: "realpath", TypeStat: "stat",
	TypeRename: "rename", TypeReadlink: "readlink", TypeSymlink: "symlink", TypeStatus: "status",
	TypeHandle: "handle", TypeData: "data", TypeName: "name", TypeAttrs: "attrs",
	TypeExtended: "extended", TypeExtendedReply: "extended-reply",
}

// Response is a server packet, decoded as far as recording needs.
type Response struct {
	Type byte
	ID   uint32 // 0 for version
	// Handle is the handle a handle response returns.
	Handle string
	// Length is the data length of a data response.
	Length int
	// Code and Message are a status response's.
	Code    uint32
	Message string
}

type (
	statusPacket struct {
		ID   uint32 `sshtype:"101"`
		Code uint32
		Rest []byte `ssh:"rest"`
	}
	handleResponse struct {
		ID     uint32 `sshtype:"102"`
		Handle string
		Rest   []byte `ssh:"rest"`
	}
	dataPacket struct {
		ID   uint32 `sshtype:"103"`
		Data []byte
		Rest []byte `ssh:"rest"` // the end-of-file flag of later versions
	}
	message struct {
		Msg  string
		Rest []byte `ssh:"rest"`
	}
)

// ParseResponse decodes a server packet (without its length prefix).
func ParseResponse(p []byte) (*Response, error) {
	if len(p) < 1 {
		return nil, ErrShort
	}
	r := &Response{Type: p[0]}
	var err error
	switch p[0] {
	case TypeVersion:
		if len(p) < 5 {
			return nil, ErrShort
		}
	case TypeStatus:
		var m statusPacket
		if err = ssh.Unmarshal(p, &m); err == nil {
			r.ID, r.Code = m.ID, m.Code
			var msg message // version 3 servers may leave it out
			if ssh.Unmarshal(m.Rest, &msg) == nil {
				r.Message = msg.Msg
			}
		}
	case TypeHandle:
		var m handleResponse
		if err = ssh.Unmarshal(p, &m); err == nil {
			r.ID, r.Handle = m.ID, m.Handle
		}
	case TypeData:
		var m dataPacket
		if err = ssh.Unmarshal(p, &m); err == nil {
			r.ID, r.Length = m.ID, len(m.Data)
		}
	default:
		if len(p) < 5 {
			return nil, ErrShort
		}
		r.ID = binary.BigEndian.Uint32(p[1:5])
	}
	if err != nil {
		return nil, fmt.Errorf("sftp: malformed %s: %w", PacketName(p[0]), err)
	}
	return r, nil
}
