package mysql

import (
	"bufio"
	"fmt"
	"io"
)

// maxChunk is the largest payload of one wire packet; a payload of this size
// is continued by the next packet (MySQL protocol, "MySQL Packets": sending
// more than 16MB).
const maxChunk = 0xffffff

// packetHeaderSize is the 3-byte length and the 1-byte sequence id.
const packetHeaderSize = 4

// PacketTooLargeError is returned by packetReader when a packet's payload
// exceeds its limit. The packet's remaining bytes are unread: the connection
// cannot be used any more.
type PacketTooLargeError struct {
	Size  int64 // the size announced so far
	Limit int
}

func (e *PacketTooLargeError) Error() string {
	return fmt.Sprintf("packet of %d bytes or more exceeds the limit of %d bytes", e.Size, e.Limit)
}

// packetReader reads logical packets: the chunks of a payload of 16MB or more
// are joined. It bounds the payload it accepts.
type packetReader struct {
	r     *bufio.Reader
	limit int
	buf   []byte
	hdr   [packetHeaderSize]byte
	// seq is the sequence id of the first chunk of the last packet read.
	seq byte
}

func newPacketReader(r io.Reader, limit int) *packetReader {
	return &packetReader{r: bufio.NewReaderSize(r, 16<<10), limit: limit}
}

// read returns the next packet's payload and the sequence id that follows it.
// The payload is only valid until the next call.
func (p *packetReader) read() (payload []byte, next byte, err error) {
	p.buf = p.buf[:0]
	first := true
	for {
		if _, err := io.ReadFull(p.r, p.hdr[:]); err != nil {
			if !first && err == io.EOF {
				err = io.ErrUnexpectedEOF
			}
			return nil, 0, err
		}
		n := int(p.hdr[0]) | int(p.hdr[1])<<8 | int(p.hdr[2])<<16
		if first {
			p.seq = p.hdr[3]
			first = false
		}
		next = p.hdr[3] + 1
		if len(p.buf)+n > p.limit {
			return nil, 0, &PacketTooLargeError{Size: int64(len(p.buf) + n), Limit: p.limit}
		}
		start := len(p.buf)
		p.buf = grow(p.buf, n)
		if _, err := io.ReadFull(p.r, p.buf[start:]); err != nil {
			if err == io.EOF {
				err = io.ErrUnexpectedEOF
			}
			return nil, 0, err
		}
		if n < maxChunk {
			// Keep the buffer from growing without bound after one huge packet.
			if cap(p.buf) > 1<<20 && len(p.buf) < 1<<16 {
				b := make([]byte, len(p.buf))
				copy(b, p.buf)
				p.buf = nil
				return b, next, nil
			}
			return p.buf, next, nil
		}
	}
}

// buffered reports whether bytes are waiting to be read, so that a relay can
// flush its writer before it would block.
func (p *packetReader) buffered() bool { return p.r.Buffered() > 0 }

func grow(b []byte, n int) []byte {
	if cap(b)-len(b) >= n {
		return b[:len(b)+n]
	}
	nb := make([]byte, len(b)+n, len(b)+n+len(b)/4)
	copy(nb, b)
	return nb
}

// packetWriter frames payloads into packets on a buffered writer.
type packetWriter struct {
	w   *bufio.Writer
	hdr [packetHeaderSize]byte
}

func newPacketWriter(w io.Writer) *packetWriter {
	return &packetWriter{w: bufio.NewWriterSize(w, 32<<10)}
}

// write frames payload starting at sequence id seq and returns the sequence
// id that follows. A payload of 16MB or more is split into chunks, ending with
// a shorter (possibly empty) one, as the protocol requires.
func (p *packetWriter) write(seq byte, payload []byte) (byte, error) {
	for {
		n := min(len(payload), maxChunk)
		p.hdr = [packetHeaderSize]byte{byte(n), byte(n >> 8), byte(n >> 16), seq}
		if _, err := p.w.Write(p.hdr[:]); err != nil {
			return 0, err
		}
		if _, err := p.w.Write(payload[:n]); err != nil {
			return 0, err
		}
		seq++
		payload = payload[n:]
		if n < maxChunk {
			return seq, nil
		}
	}
}

// flush writes out what is buffered.
func (p *packetWriter) flush() error { return p.w.Flush() }
