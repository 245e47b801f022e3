package sftp

import (
	"bytes"
	"testing"
)

func seeds(f *testing.F) {
	f.Add(packet(TypeInit, uint32(3))[4:])
	f.Add(packet(TypeOpen, uint32(1), "/tmp/a", uint32(FlagWrite|FlagCreate), uint32(0))[4:])
	f.Add(packet(TypeWrite, uint32(2), "H", uint64(0), "data")[4:])
	f.Add(packet(TypeRename, uint32(3), "/a", "/b")[4:])
	f.Add(packet(TypeExtended, uint32(4), "posix-rename@openssh.com", "/a", "/b")[4:])
	f.Add(packet(TypeStatus, uint32(5), uint32(2), "no", "en")[4:])
	f.Add(packet(TypeHandle, uint32(1), "H")[4:])
	f.Add(packet(TypeData, uint32(6), "abc")[4:])
	f.Add([]byte{})
}

// FuzzParseRequest: any client packet decodes or fails, never panics, and
// whatever decodes can be turned into a command.
func FuzzParseRequest(f *testing.F) {
	seeds(f)
	f.Fuzz(func(t *testing.T, b []byte) {
		r, err := ParseRequest(b)
		if err != nil {
			return
		}
		if r.Type != b[0] {
			t.Fatalf("type %d from a packet of type %d", r.Type, b[0])
		}
		tr := NewTracker()
		tr.Command(r)
		tr.Sent(r, 1)
	})
}

// FuzzParseResponse: any server packet decodes or fails, never panics.
func FuzzParseResponse(f *testing.F) {
	seeds(f)
	f.Fuzz(func(t *testing.T, b []byte) {
		r, err := ParseResponse(b)
		if err == nil && r.Length > len(b) {
			t.Fatalf("data length %d in a %d-byte packet", r.Length, len(b))
		}
	})
}

// FuzzSession feeds a stream of framed packets through the Reader and the
// Tracker, as requests and responses alternately: no panic, and the
// tracker's memory stays within its bounds.
func FuzzSession(f *testing.F) {
	var s bytes.Buffer
	s.Write(packet(TypeOpen, uint32(1), "/f", uint32(FlagRead), uint32(0)))
	s.Write(packet(TypeHandle, uint32(1), "H"))
	s.Write(packet(TypeRead, uint32(2), "H", uint64(0), uint32(10)))
	s.Write(packet(TypeData, uint32(2), "0123456789"))
	s.Write(packet(TypeClose, uint32(3), "H"))
	s.Write(packet(TypeStatus, uint32(3), uint32(0), "", ""))
	f.Add(s.Bytes())
	f.Add([]byte{0, 0, 0, 1, 1})
	f.Fuzz(func(t *testing.T, b []byte) {
		r := NewReader(bytes.NewReader(b))
		tr := NewTracker()
		for i := 0; ; i++ {
			p, err := r.Next()
			if err != nil {
				break
			}
			if i%2 == 0 {
				if req, err := ParseRequest(p[4:]); err == nil {
					tr.Command(req)
					tr.Sent(req, uint64(i+1))
				}
			} else if resp, err := ParseResponse(p[4:]); err == nil {
				tr.Response(resp)
			}
		}
		if len(tr.files) > maxFiles || len(tr.pending) > maxPending {
			t.Fatalf("tracker grew past its bounds: %d files, %d pending", len(tr.files), len(tr.pending))
		}
	})
}
