package mysql

import (
	"bytes"
	"errors"
	"strings"
	"testing"

	gm "github.com/go-mysql-org/go-mysql/mysql"
)

func TestPacketSplitRoundTrip(t *testing.T) {
	for _, n := range []int{0, 1, maxChunk - 1, maxChunk, maxChunk + 1, 2*maxChunk + 5} {
		payload := bytes.Repeat([]byte{'x'}, n)
		var b bytes.Buffer
		w := newPacketWriter(&b)
		next, err := w.write(3, payload)
		if err != nil {
			t.Fatal(err)
		}
		w.flush()
		if want := byte(3 + n/maxChunk + 1); next != want {
			t.Errorf("%d bytes: next seq %d; want %d", n, next, want)
		}
		r := newPacketReader(&b, 3*maxChunk)
		got, rnext, err := r.read()
		if err != nil || len(got) != n || rnext != next || r.seq != 3 {
			t.Errorf("%d bytes: read %d bytes, next %d, seq %d, %v", n, len(got), rnext, r.seq, err)
		}
	}
}

func TestPacketLimit(t *testing.T) {
	var b bytes.Buffer
	w := newPacketWriter(&b)
	w.write(0, make([]byte, 2048))
	w.flush()
	_, _, err := newPacketReader(&b, 1024).read()
	var tl *PacketTooLargeError
	if !errors.As(err, &tl) || tl.Limit != 1024 {
		t.Fatalf("err %v; want PacketTooLargeError", err)
	}
}

func TestDecodeHandshakeResponse(t *testing.T) {
	tok := strings.Repeat("eyJhbGciOiJFZERTQSJ9.", 40) // a long JWT: more than 255 bytes
	r, err := decodeHandshakeResponse(sampleHandshakeResponse("alice", []byte(tok+"\x00"), "app", gm.AUTH_CLEAR_PASSWORD))
	if err != nil {
		t.Fatal(err)
	}
	if r.User != "alice" || clearPassword(r.AuthResponse) != tok || r.Database != "app" || r.AuthPlugin != gm.AUTH_CLEAR_PASSWORD || r.Attrs["program_name"] != "mysql" {
		t.Fatalf("decoded %+v", r)
	}
	ssl, err := decodeHandshakeResponse(append(appendU32(nil, gm.CLIENT_PROTOCOL_41|gm.CLIENT_SSL), make([]byte, 28)...))
	if err != nil || !ssl.SSLRequest {
		t.Fatalf("SSLRequest: %+v, %v", ssl, err)
	}
	if _, err := decodeHandshakeResponse([]byte{1, 2, 3}); !errors.Is(err, ErrMalformed) {
		t.Fatalf("short packet: %v; want ErrMalformed", err)
	}
}

func TestBinaryValues(t *testing.T) {
	for _, tc := range []struct {
		t        byte
		unsigned bool
		data     []byte
		want     string
	}{
		{gm.MYSQL_TYPE_TINY, false, []byte{0xff}, "-1"},
		{gm.MYSQL_TYPE_TINY, true, []byte{0xff}, "255"},
		{gm.MYSQL_TYPE_LONGLONG, true, []byte{0, 0, 0, 0, 0, 0, 0, 0x80}, "9223372036854775808"},
		{gm.MYSQL_TYPE_DOUBLE, false, []byte{0, 0, 0, 0, 0, 0, 0xf8, 0x3f}, "1.5"},
		{gm.MYSQL_TYPE_NEWDECIMAL, false, []byte{5, '1', '2', '.', '3', '4'}, "12.34"},
		{gm.MYSQL_TYPE_BLOB, false, []byte{3, 0, 0xfe, 'a'}, "0x00FE61"},
		{gm.MYSQL_TYPE_DATE, false, []byte{4, 0xe8, 7, 2, 29}, "2024-02-29"},
		{gm.MYSQL_TYPE_DATETIME, false, []byte{11, 0xe8, 7, 2, 29, 13, 45, 30, 0x40, 0xe2, 1, 0}, "2024-02-29 13:45:30.123456"},
		{gm.MYSQL_TYPE_DATETIME, false, []byte{0}, "0000-00-00 00:00:00"},
		{gm.MYSQL_TYPE_TIME, false, []byte{8, 1, 1, 0, 0, 0, 2, 3, 4}, "-26:03:04"},
	} {
		d := decoder{b: tc.data}
		got, err := decodeBinaryValue(&d, tc.t, tc.unsigned)
		if err != nil || got != tc.want || !d.empty() {
			t.Errorf("type %d % x: %q, %v, %d left; want %q", tc.t, tc.data, got, err, len(d.b), tc.want)
		}
	}
	d := decoder{b: []byte{3, 1}}
	if _, err := decodeBinaryValue(&d, gm.MYSQL_TYPE_DATE, false); !errors.Is(err, ErrMalformed) {
		t.Errorf("short date: %v; want ErrMalformed", err)
	}
}

func TestDecodeColumnDefinition(t *testing.T) {
	c, err := decodeColumnDefinition(sampleColumn("id", gm.MYSQL_TYPE_LONGLONG, gm.UNSIGNED_FLAG))
	if err != nil || c.Name != "id" || c.column().Type != "bigint unsigned" {
		t.Fatalf("%+v, %v", c, err)
	}
	if _, err := decodeColumnDefinition(sampleColumn("id", 3, 0)[:20]); !errors.Is(err, ErrMalformed) {
		t.Fatalf("truncated: %v; want ErrMalformed", err)
	}
}
