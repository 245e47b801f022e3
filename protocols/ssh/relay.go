package ssh

import (
	"bytes"
	"io"

	"github.com/hoophq/hoop/session"
)

// bufSize is the relay's buffer per direction: the SSH maximum packet
// payload that x/crypto and OpenSSH use.
const bufSize = 32 << 10

// wait blocks until the channel's mode is decided; false when the upstream
// closed before.
func (h *channel) wait(ready chan struct{}, gone chan struct{}) bool {
	select {
	case <-ready:
		return true
	case <-gone:
		select {
		case <-ready:
			return true
		default:
			return false
		}
	}
}

// copyOut relays one of the upstream's output streams to the client,
// recording it first.
func (h *channel) copyOut(src io.Reader, dst io.Writer, t *tap) {
	defer h.outputs.Done()
	if !h.wait(h.decided, h.dead) {
		return
	}
	if tr := h.sftp.Load(); tr != nil && t == &h.stdout {
		h.sftpOut(tr)
		return
	}
	h.limit(t)
	buf := make([]byte, bufSize)
	for {
		n, err := src.Read(buf)
		if n > 0 {
			t.n.Add(int64(n))
			if rerr := h.record(t, buf[:n], false); rerr != nil {
				h.abort(rerr)
				return
			}
			if _, werr := dst.Write(buf[:n]); werr != nil {
				return
			}
		}
		if err != nil {
			return
		}
	}
}

// copyIn relays the client's input upstream once the channel has started.
// With a pty, a chunk that ends a line is recorded durably before it is
// forwarded: the line the shell is about to run is on disk first.
func (h *channel) copyIn() {
	if !h.wait(h.started, h.finished) {
		return
	}
	if tr := h.sftp.Load(); tr != nil {
		h.sftpIn(tr)
		return
	}
	h.limit(&h.in)
	pty := h.pty.Load()
	buf := make([]byte, bufSize)
	for {
		n, err := h.ch.Read(buf)
		if n > 0 {
			h.in.n.Add(int64(n))
			durable := pty && bytes.ContainsAny(buf[:n], "\r\n")
			if rerr := h.record(&h.in, buf[:n], durable); rerr != nil {
				h.abort(rerr)
				return
			}
			if _, werr := h.up.Write(buf[:n]); werr != nil {
				return
			}
		}
		if err != nil {
			if err == io.EOF {
				h.up.CloseWrite()
			}
			return
		}
	}
}

// limit sets a tap's recording cap: a terminal is recorded whole; the bytes
// of a channel without a pty (a copy, a pipe) are kept up to
// recording.max_bytes per direction and counted past it.
func (h *channel) limit(t *tap) {
	if !h.pty.Load() {
		t.limit = int64(h.c.srv.conn.Recording.MaxBytes)
	}
}

// record appends the bytes of a tap, within its cap.
func (h *channel) record(t *tap, data []byte, durable bool) error {
	if t.kind == session.KindInput && !h.recordIn {
		return nil
	}
	if t.limit > 0 {
		room := t.limit - t.kept
		if room <= 0 {
			t.truncated.Store(true)
			return nil
		}
		if int64(len(data)) > room {
			data = data[:room]
			t.truncated.Store(true)
		}
	}
	t.kept += int64(len(data))
	// Append encodes data before it returns: buf may be reused.
	_, err := h.c.sess.Append(t.kind, &session.Bytes{Data: data, Stream: t.stream}, durable)
	return err
}
