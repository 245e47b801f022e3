package postgres

import (
	"bytes"
	"encoding/binary"
	"errors"
	"io"
	"strings"
	"testing"
	"testing/iotest"
)

func startupBytes(version uint32, kv ...string) []byte {
	p := startupPacket{Version: version}
	for i := 0; i+1 < len(kv); i += 2 {
		p.Params = append(p.Params, param{kv[i], kv[i+1]})
	}
	return p.encode(nil)
}

func TestDecodeStartup(t *testing.T) {
	ssl := binary.BigEndian.AppendUint32([]byte{0, 0, 0, 8}, codeSSLRequest)
	gss := binary.BigEndian.AppendUint32([]byte{0, 0, 0, 8}, codeGSSENCRequest)
	cancel := binary.BigEndian.AppendUint32([]byte{0, 0, 0, 16}, codeCancelRequest)
	cancel = append(cancel, 0, 0, 0, 7, 1, 2, 3, 4)
	for _, tc := range []struct {
		name string
		in   []byte
		kind startupKind
		err  string
	}{
		{"startup", startupBytes(protocol30, "user", "alice", "database", "app"), kindStartup, ""},
		{"ssl", ssl, kindSSL, ""},
		{"gssenc", gss, kindGSSENC, ""},
		{"cancel", cancel, kindCancel, ""},
		{"protocol 3.2", startupBytes(protocol30+2, "user", "alice"), kindStartup, ""},
		{"protocol 2", startupBytes(2<<16, "user", "alice"), kindStartup, ""},
		{"no user", startupBytes(protocol30, "database", "app"), 0, "no user name"},
		{"unterminated", startupBytes(protocol30, "user", "alice")[:15], 0, "no value"},
		{"no final terminator", startupBytes(protocol30, "user", "alice")[:19], 0, "unterminated"},
		{"trailing", append(startupBytes(protocol30, "user", "alice"), 'x'), 0, "after the parameter list"},
		{"ssl with payload", append(ssl, 1), 0, "request of"},
		{"short cancel", cancel[:12], 0, "cancel request"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			body := tc.in[4:]
			p, err := decodeStartup(body)
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) || !errors.Is(err, errStartup) {
					t.Fatalf("got %v; want an error with %q", err, tc.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if p.Kind != tc.kind {
				t.Fatalf("kind %d; want %d", p.Kind, tc.kind)
			}
		})
	}
	p, _ := decodeStartup(cancel[4:])
	if p.Cancel.ProcessID != 7 || !bytes.Equal(p.Cancel.SecretKey, []byte{1, 2, 3, 4}) {
		t.Errorf("cancel %+v", p.Cancel)
	}
}

func TestReadStartup(t *testing.T) {
	pkt := startupBytes(protocol30, "user", "alice")
	// A byte at a time, with what follows left unread.
	r := io.MultiReader(iotest.OneByteReader(bytes.NewReader(pkt)), strings.NewReader("TLS"))
	body, err := readStartup(r, 1024)
	if err != nil || !bytes.Equal(body, pkt[4:]) {
		t.Fatalf("got %q, %v", body, err)
	}
	rest, _ := io.ReadAll(r)
	if string(rest) != "TLS" {
		t.Fatalf("read ahead: left %q; want TLS", rest)
	}
	for _, tc := range []struct {
		name string
		in   []byte
		want error
	}{
		{"empty", nil, io.EOF},
		{"cut", pkt[:10], io.ErrUnexpectedEOF},
		{"too large", []byte{0, 0, 4, 1, 0, 3, 0, 0}, ErrMessageTooLarge},
		{"too small", []byte{0, 0, 0, 7}, errStartup},
		{"negative", []byte{0xff, 0xff, 0xff, 0xff}, ErrMessageTooLarge},
	} {
		if _, err := readStartup(bytes.NewReader(tc.in), 1024); !errors.Is(err, tc.want) {
			t.Errorf("%s: got %v; want %v", tc.name, err, tc.want)
		}
	}
}

func TestDecodePassword(t *testing.T) {
	msg := func(body string) []byte {
		b := binary.BigEndian.AppendUint32([]byte{'p'}, uint32(4+len(body)))
		return append(b, body...)
	}
	if tok, err := decodePassword(msg("tok.en\x00")); err != nil || tok != "tok.en" {
		t.Fatalf("got %q, %v", tok, err)
	}
	for _, bad := range [][]byte{msg("no terminator"), msg("two\x00nuls\x00"), msg(""), {'Q', 0, 0, 0, 5, 0}, nil} {
		if _, err := decodePassword(bad); err == nil {
			t.Errorf("%q: decoded; want an error", bad)
		} else if bytes.Contains(bad, []byte("nuls")) && strings.Contains(err.Error(), "two") {
			t.Errorf("the error %q leaks the password", err)
		}
	}
}

// FuzzDecodeStartup: arbitrary packets never panic, and a StartupMessage that
// decodes encodes back to the same bytes.
func FuzzDecodeStartup(f *testing.F) {
	f.Add(startupBytes(protocol30, "user", "alice", "database", "app")[4:])
	f.Add(startupBytes(protocol30+2, "user", "a", "_pq_.x", "1")[4:])
	f.Add(binary.BigEndian.AppendUint32(nil, codeSSLRequest))
	f.Add(append(binary.BigEndian.AppendUint32(nil, codeCancelRequest), 0, 0, 0, 1, 0, 0, 0, 2))
	f.Fuzz(func(t *testing.T, body []byte) {
		p, err := decodeStartup(body)
		if err != nil || p.Kind != kindStartup || p.Version>>16 != protocolMajor {
			return
		}
		if got := p.encode(nil)[4:]; !bytes.Equal(got, body) {
			t.Fatalf("round trip: %q; want %q", got, body)
		}
		p.protocolOptions()
	})
}

// FuzzDecodePassword: never panics; what decodes is the body up to its NUL.
func FuzzDecodePassword(f *testing.F) {
	f.Add([]byte("p\x00\x00\x00\x0atoken\x00"))
	f.Add([]byte("p\x00\x00\x00\x04"))
	f.Fuzz(func(t *testing.T, msg []byte) {
		tok, err := decodePassword(msg)
		if err == nil && (len(msg) < 6 || string(msg[5:]) != tok+"\x00") {
			t.Fatalf("decoded %q from %q", tok, msg)
		}
	})
}
