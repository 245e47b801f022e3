package sftp

import (
	"bytes"
	"encoding/binary"
	"errors"
	"io"
	"strings"
	"testing"

	"golang.org/x/crypto/ssh"
)

// packet frames a body built with ssh.Marshal-style fields.
func packet(typ byte, fields ...any) []byte {
	body := []byte{typ}
	for _, f := range fields {
		switch v := f.(type) {
		case uint32:
			body = binary.BigEndian.AppendUint32(body, v)
		case uint64:
			body = binary.BigEndian.AppendUint64(body, v)
		case string:
			body = binary.BigEndian.AppendUint32(body, uint32(len(v)))
			body = append(body, v...)
		case []byte:
			body = append(body, v...) // raw
		}
	}
	return append(binary.BigEndian.AppendUint32(nil, uint32(len(body))), body...)
}

func TestReader(t *testing.T) {
	var stream bytes.Buffer
	stream.Write(packet(TypeInit, uint32(3)))
	stream.Write(packet(TypeOpen, uint32(1), "/tmp/a b", uint32(FlagWrite|FlagCreate|FlagTrunc), uint32(0)))
	r := NewReader(&stream)
	for i, want := range []byte{TypeInit, TypeOpen} {
		p, err := r.Next()
		if err != nil || p[4] != want {
			t.Fatalf("packet %d: %v, %v", i, p, err)
		}
	}
	if _, err := r.Next(); err != io.EOF {
		t.Errorf("at the end: %v; want io.EOF", err)
	}
	big := binary.BigEndian.AppendUint32(nil, MaxPacket+1)
	if _, err := NewReader(bytes.NewReader(big)).Next(); !errors.Is(err, ErrTooLarge) {
		t.Errorf("oversized: %v; want ErrTooLarge", err)
	}
	half := packet(TypeRemove, uint32(9), "/x")
	if _, err := NewReader(bytes.NewReader(half[:len(half)-1])).Next(); err != io.ErrUnexpectedEOF {
		t.Errorf("cut packet: %v; want io.ErrUnexpectedEOF", err)
	}
}

func TestParseRequest(t *testing.T) {
	for _, tc := range []struct {
		pkt  []byte
		want Request
	}{
		{packet(TypeOpen, uint32(7), "/f", uint32(FlagRead), uint32(0)), Request{Type: TypeOpen, ID: 7, Paths: []string{"/f"}, Flags: FlagRead}},
		{packet(TypeWrite, uint32(8), "h1", uint64(0), "hello"), Request{Type: TypeWrite, ID: 8, Handle: "h1", Length: 5}},
		{packet(TypeRead, uint32(9), "h1", uint64(0), uint32(32768)), Request{Type: TypeRead, ID: 9, Handle: "h1", Length: 32768}},
		{packet(TypeRename, uint32(10), "/a", "/b"), Request{Type: TypeRename, ID: 10, Paths: []string{"/a", "/b"}}},
		{packet(TypeExtended, uint32(11), "posix-rename@openssh.com", "/a", "/b"), Request{Type: TypeExtended, ID: 11, Extension: "posix-rename@openssh.com", Paths: []string{"/a", "/b"}}},
		{packet(99, uint32(12), "whatever"), Request{Type: 99, ID: 12}},
	} {
		got, err := ParseRequest(tc.pkt[4:])
		if err != nil {
			t.Errorf("%s: %v", PacketName(tc.pkt[4]), err)
			continue
		}
		if got.Type != tc.want.Type || got.ID != tc.want.ID || strings.Join(got.Paths, "|") != strings.Join(tc.want.Paths, "|") ||
			got.Handle != tc.want.Handle || got.Flags != tc.want.Flags || got.Length != tc.want.Length || got.Extension != tc.want.Extension {
			t.Errorf("%s: got %+v; want %+v", PacketName(tc.pkt[4]), got, tc.want)
		}
	}
	for _, bad := range [][]byte{{}, {TypeOpen}, {TypeOpen, 0, 0, 0, 1, 0, 0, 0, 9, 'x'}, {42, 1}} {
		if _, err := ParseRequest(bad); err == nil {
			t.Errorf("ParseRequest(%x) = nil error", bad)
		}
	}
}

// TestTracker follows a client writing then reading a file, with an error
// and a refused request in between.
func TestTracker(t *testing.T) {
	tr := NewTracker()
	req := func(p []byte, seq uint64) *Request {
		t.Helper()
		r, err := ParseRequest(p[4:])
		if err != nil {
			t.Fatal(err)
		}
		return r
	}
	resp := func(p []byte) *Response {
		t.Helper()
		r, err := ParseResponse(p[4:])
		if err != nil {
			t.Fatal(err)
		}
		return r
	}
	open := req(packet(TypeOpen, uint32(1), "/srv/a.txt", uint32(FlagWrite|FlagCreate|FlagTrunc), uint32(0)), 0)
	c := tr.Command(open)
	if c == nil || c.Type != "sftp.open" || c.Text != "open /srv/a.txt write,create,truncate" || *c.Params[0] != "/srv/a.txt" {
		t.Fatalf("open command %+v", c)
	}
	tr.Sent(open, 10)
	if r := tr.Response(resp(packet(TypeHandle, uint32(1), "H"))); r != nil {
		t.Errorf("handle result %+v; want none", r)
	}
	for i := range 3 {
		w := req(packet(TypeWrite, uint32(2+i), "H", uint64(i*4), "abcd"), 0)
		if tr.Command(w) != nil {
			t.Error("write: want no command")
		}
		tr.Sent(w, 0)
	}
	rm := req(packet(TypeRemove, uint32(6), "/srv/missing"), 0)
	if c := tr.Command(rm); c == nil || c.Text != "remove /srv/missing" {
		t.Fatalf("remove command %+v", c)
	}
	tr.Sent(rm, 11)
	if r := tr.Response(resp(packet(TypeStatus, uint32(6), uint32(StatusNoSuchFile), "No such file", "en"))); r == nil || r.Command != 11 || r.Error.Code != "SSH_FX_NO_SUCH_FILE" {
		t.Errorf("remove result %+v", r)
	}
	cl := req(packet(TypeClose, uint32(7), "H"), 0)
	if c := tr.Command(cl); c == nil || c.Text != "close /srv/a.txt" {
		t.Fatalf("close command %+v", c)
	}
	tr.Sent(cl, 12)
	r := tr.Response(resp(packet(TypeStatus, uint32(7), uint32(StatusOK), "", "")))
	if r == nil || r.Command != 12 || r.BytesIn != 12 || r.BytesOut != 0 || r.Error != nil {
		t.Errorf("close result %+v; want 12 bytes written", r)
	}
	if len(tr.files) != 0 || len(tr.pending) != 0 {
		t.Errorf("tracker keeps %d files, %d pending", len(tr.files), len(tr.pending))
	}
}

// TestTrackerBounded: a client that opens without closing, or reads without
// waiting, cannot grow the tracker past its limits.
func TestTrackerBounded(t *testing.T) {
	tr := NewTracker()
	for i := range maxFiles + 10 {
		open := &Request{Type: TypeOpen, ID: uint32(i), Paths: []string{"/f"}}
		tr.Sent(open, uint64(i+1))
		tr.Response(&Response{Type: TypeHandle, ID: uint32(i), Handle: string(binary.BigEndian.AppendUint32(nil, uint32(i)))})
	}
	for i := range maxPending + 10 {
		tr.Sent(&Request{Type: TypeRead, ID: uint32(1<<20 + i), Handle: "\x00\x00\x00\x01"}, 0)
	}
	if len(tr.files) > maxFiles || len(tr.pending) > maxPending {
		t.Errorf("%d files, %d pending; want at most %d, %d", len(tr.files), len(tr.pending), maxFiles, maxPending)
	}
}

func TestStatus(t *testing.T) {
	p := Status(5, StatusPermissionDenied, "hoop: denied")
	r, err := ParseResponse(p[4:])
	if err != nil || r.ID != 5 || r.Code != StatusPermissionDenied || r.Message != "hoop: denied" {
		t.Errorf("Status round trip: %+v, %v", r, err)
	}
	if int(binary.BigEndian.Uint32(p)) != len(p)-4 {
		t.Error("bad length prefix")
	}
	var m struct {
		ID   uint32 `sshtype:"101"`
		Code uint32
		Msg  string
		Lang string
	}
	if err := ssh.Unmarshal(p[4:], &m); err != nil || m.Lang != "en" {
		t.Errorf("wire form: %+v, %v", m, err)
	}
}
