package postgres

import (
	"bytes"
	"encoding/binary"
	"errors"
	"io"
	"testing"
	"testing/iotest"
)

func message(t byte, body []byte) []byte {
	b := binary.BigEndian.AppendUint32([]byte{t}, uint32(4+len(body)))
	return append(b, body...)
}

func TestFramer(t *testing.T) {
	big := bytes.Repeat([]byte("x"), 3*bufferSize)
	var stream []byte
	msgs := [][]byte{message('Q', []byte("select 1\x00")), message('S', nil), message('d', big), message('X', nil)}
	for _, m := range msgs {
		stream = append(stream, m...)
	}
	for _, r := range []io.Reader{bytes.NewReader(stream), iotest.OneByteReader(bytes.NewReader(stream)), iotest.HalfReader(bytes.NewReader(stream))} {
		f := newFramer(r, 1<<20)
		for i, want := range msgs {
			got, err := f.Next()
			if err != nil || !bytes.Equal(got, want) {
				t.Fatalf("message %d: %d bytes, %v; want %d bytes", i, len(got), err, len(want))
			}
		}
		if _, err := f.Next(); err != io.EOF {
			t.Fatalf("at the end: %v; want io.EOF", err)
		}
	}
	// Buffered says when a batch of pipelined messages has been read.
	f := newFramer(bytes.NewReader(stream[:len(msgs[0])+len(msgs[1])]), 1<<20)
	f.Next()
	if f.Buffered() == 0 {
		t.Fatal("Buffered is 0 with a message left")
	}
	f.Next()
	if f.Buffered() != 0 {
		t.Fatal("Buffered is not 0 after the last message")
	}
}

func TestFramerErrors(t *testing.T) {
	for _, tc := range []struct {
		name string
		in   []byte
		want error
	}{
		{"over max", binary.BigEndian.AppendUint32([]byte{'Q'}, 1025), ErrMessageTooLarge},
		{"length under 4", []byte{'Q', 0, 0, 0, 3}, ErrBadLength},
		{"negative length", []byte{'Q', 0xff, 0xff, 0xff, 0xff}, ErrBadLength},
		{"cut header", []byte{'Q', 0, 0}, io.ErrUnexpectedEOF},
		{"cut body", message('Q', []byte("select"))[:8], io.ErrUnexpectedEOF},
		{"empty", nil, io.EOF},
	} {
		_, err := newFramer(bytes.NewReader(tc.in), 1024).Next()
		if !errors.Is(err, tc.want) {
			t.Errorf("%s: got %v; want %v", tc.name, err, tc.want)
		}
	}
}

// FuzzFramer: arbitrary streams never panic, messages are never over the
// limit, and the messages read are the stream's prefix, in order.
func FuzzFramer(f *testing.F) {
	f.Add(append(message('Q', []byte("select 1\x00")), message('S', nil)...), uint16(64))
	f.Add([]byte{'Q', 0, 0, 0, 3}, uint16(64))
	f.Add(message('d', bytes.Repeat([]byte{1}, 100)), uint16(16))
	f.Fuzz(func(t *testing.T, stream []byte, max uint16) {
		fr := newFramer(bytes.NewReader(stream), int64(max))
		var got []byte
		for {
			msg, err := fr.Next()
			if err != nil {
				break
			}
			if int64(len(msg)-1) > int64(max) {
				t.Fatalf("message of %d bytes over the limit %d", len(msg), max)
			}
			got = append(got, msg...)
		}
		if !bytes.HasPrefix(stream, got) {
			t.Fatal("messages are not the stream's prefix")
		}
	})
}
