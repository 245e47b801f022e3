package kube

import (
	"bytes"
	"encoding/json"
	"sync"

	hoophttp "github.com/hoophq/hoop/protocols/http"
	"github.com/hoophq/hoop/session"
)

// Channels of the remote command protocols (k8s.io/client-go/tools/remotecommand):
// the WebSocket channel byte, and the SPDY streamType each maps to.
const (
	chStdin  = 0
	chStdout = 1
	chStderr = 2
	chError  = 3
	chResize = 4
	chClose  = 255 // v5: the sender closes the channel in data[1]
)

var streamChannel = map[string]byte{"stdin": chStdin, "stdout": chStdout, "stderr": chStderr, "error": chError, "resize": chResize}

// terminal records an exec or attach stream as terminal events: stdin as
// input (durable before it is forwarded), stdout and stderr as output, resize
// messages as resize events, and the error channel's status as the result.
type terminal struct {
	s   *hoophttp.Session
	seq uint64

	mu       sync.Mutex // guards the fields below
	status   []byte     // the error channel, up to maxStatus
	resize   []byte     // a partial resize message (SPDY streams them)
	bytesIn  int64
	bytesOut int64
	done     bool
}

const maxStatus = 64 << 10

func newTerminal(s *hoophttp.Session, seq uint64) *terminal { return &terminal{s: s, seq: seq} }

// fromClient records data the client sent on channel ch. An error means the
// data could not be recorded and must not be forwarded.
func (t *terminal) fromClient(ch byte, data []byte) error {
	t.mu.Lock()
	t.bytesIn += int64(len(data))
	t.mu.Unlock()
	switch ch {
	case chStdin:
		if len(data) == 0 {
			return nil
		}
		_, err := t.s.Append(session.KindInput, &session.Bytes{Data: bytes.Clone(data)}, true)
		return err
	case chResize:
		for _, r := range t.resizes(data) {
			if _, err := t.s.Append(session.KindResize, &r, false); err != nil {
				return err
			}
		}
	}
	return nil
}

// fromUpstream records data the API server sent on channel ch.
func (t *terminal) fromUpstream(ch byte, data []byte) {
	t.mu.Lock()
	t.bytesOut += int64(len(data))
	t.mu.Unlock()
	switch ch {
	case chStdout, chStderr:
		if len(data) == 0 {
			return
		}
		name := "stdout"
		if ch == chStderr {
			name = "stderr"
		}
		// A failure fails the session closed; the stream ends at its next input.
		_, _ = t.s.Append(session.KindOutput, &session.Bytes{Data: bytes.Clone(data), Stream: name}, false)
	case chError:
		t.mu.Lock()
		if room := maxStatus - len(t.status); room > 0 {
			t.status = append(t.status, data[:min(len(data), room)]...)
		}
		t.mu.Unlock()
	}
}

// resizes decodes the terminal sizes in data: one JSON object per WebSocket
// message, or a stream of newline-terminated objects on a SPDY stream, which
// may split them across reads.
func (t *terminal) resizes(data []byte) []session.Resize {
	t.mu.Lock()
	defer t.mu.Unlock()
	var out []session.Resize
	t.resize, out = decodeResizes(append(t.resize, data...))
	return out
}

// decodeResizes decodes the complete resize objects at the start of buf and
// returns the rest (a partial object, kept for the next read; at most 1KiB).
func decodeResizes(buf []byte) (rest []byte, out []session.Resize) {
	dec := json.NewDecoder(bytes.NewReader(buf))
	used := int64(0)
	for {
		var sz struct{ Width, Height uint16 }
		if err := dec.Decode(&sz); err != nil {
			break
		}
		used = dec.InputOffset()
		if sz.Width > 0 || sz.Height > 0 {
			out = append(out, session.Resize{Cols: int(sz.Width), Rows: int(sz.Height)})
		}
	}
	rest = bytes.TrimLeft(buf[used:], " \t\r\n")
	if len(rest) > 1024 || (len(rest) > 0 && rest[0] != '{') {
		rest = nil // not a resize stream: drop it rather than grow
	}
	return append([]byte(nil), rest...), out
}

// finish records the result: the exit status, or why the stream ended.
func (t *terminal) finish(cause error) {
	t.mu.Lock()
	if t.done {
		t.mu.Unlock()
		return
	}
	t.done = true
	res := &session.Result{Command: t.seq, HTTP: &session.HTTPResponse{Status: 101, Upgrade: "terminal", BytesIn: t.bytesIn, BytesOut: t.bytesOut}}
	code, msg, ok := exitStatus(t.status)
	t.mu.Unlock()
	switch {
	case ok && code == "0":
		res.Tag = "exit 0"
	case ok:
		res.Tag = "exit " + code
		if code == "" {
			res.Tag = "failed"
		}
		res.Error = &session.Error{Code: code, Message: msg}
	case cause != nil:
		res.Tag = "ended"
		res.Error = &session.Error{Message: "the stream ended without an exit status: " + cause.Error()}
	default:
		res.Tag = "ended"
	}
	_ = t.s.Result(res)
}
