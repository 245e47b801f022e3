package postgres

import (
	"bufio"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
)

// Buffer sizes of the relay's readers and writers.
const (
	bufferSize = 32 << 10
	// keepBuffer is the largest message buffer a framer keeps between messages;
	// a larger one is dropped after use so that one big message does not pin
	// its memory for the connection's life.
	keepBuffer = 1 << 20
)

// A framer reads typed protocol messages: a type byte, a big-endian int32
// length that counts itself but not the type, then the body (protocol
// "Message Formats"). It is the relay's reader in both directions.
type framer struct {
	br  *bufio.Reader
	max int64
	buf []byte
}

// newFramer reads messages from r, refusing those whose length field exceeds
// max (the connection's max_message_size).
func newFramer(r io.Reader, max int64) *framer {
	return &framer{br: bufio.NewReaderSize(r, bufferSize), max: max}
}

// ErrMessageTooLarge is returned (wrapped in a *frameError) for a message
// whose length exceeds the limit.
var ErrMessageTooLarge = errors.New("message exceeds max_message_size")

// ErrBadLength is returned (wrapped in a *frameError) for a length field that
// can't be valid.
var ErrBadLength = errors.New("invalid message length")

// frameError describes a message that could not be framed.
type frameError struct {
	Type   byte
	Length int64
	Err    error
}

func (e *frameError) Error() string {
	return fmt.Sprintf("message type %q with length %d: %v", e.Type, e.Length, e.Err)
}

func (e *frameError) Unwrap() error { return e.Err }

// Next reads the next message and returns all of it: type, length and body.
// The slice is only valid until the next call. A connection closed between
// messages returns io.EOF; closed inside one, io.ErrUnexpectedEOF.
func (f *framer) Next() ([]byte, error) {
	hdr, err := f.br.Peek(5)
	if err != nil {
		if len(hdr) > 0 && errors.Is(err, io.EOF) {
			err = io.ErrUnexpectedEOF
		}
		return nil, err
	}
	n := int64(binary.BigEndian.Uint32(hdr[1:]))
	switch {
	case n < 4 || n > 1<<31-1:
		return nil, &frameError{Type: hdr[0], Length: n, Err: ErrBadLength}
	case n > f.max:
		return nil, &frameError{Type: hdr[0], Length: n, Err: ErrMessageTooLarge}
	}
	size := int(n) + 1
	if size <= f.br.Size() {
		// The common case: no copy, the message stays in the reader's buffer.
		msg, err := f.br.Peek(size)
		if err != nil {
			return nil, unexpected(err)
		}
		f.br.Discard(size)
		return msg, nil
	}
	if cap(f.buf) < size {
		f.buf = make([]byte, size)
	}
	msg := f.buf[:size]
	if _, err := io.ReadFull(f.br, msg); err != nil {
		return nil, unexpected(err)
	}
	if cap(f.buf) > keepBuffer {
		f.buf = nil // valid until the next call, which allocates again
	}
	return msg, nil
}

// Buffered is the number of bytes read from the connection and not yet
// returned: when it is zero, the writer on the other side should flush.
func (f *framer) Buffered() int { return f.br.Buffered() }

func unexpected(err error) error {
	if errors.Is(err, io.EOF) {
		return io.ErrUnexpectedEOF
	}
	return err
}
