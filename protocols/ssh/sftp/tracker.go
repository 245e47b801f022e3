package sftp

import (
	"strconv"
	"strings"
	"sync"

	"github.com/hoophq/hoop/session"
)

// Limits on what a Tracker remembers. Past them it stops following new
// handles or reads and says so in the results (Truncated): a client cannot
// grow the broker's memory with requests it never closes.
const (
	maxFiles   = 4096
	maxPending = 1 << 16
)

// Tracker follows one sftp session: it turns requests into the command events
// to record, matches responses to the requests they answer, keeps which path
// each handle names and counts the bytes read and written through it. Request
// and Sent are called from the client-to-server direction, Response from the
// other; it is safe for that concurrent use.
type Tracker struct {
	mu      sync.Mutex // guards the maps
	files   map[string]*file
	pending map[uint32]*pending
}

type file struct {
	path    string
	read    int64
	written int64
	lost    bool // reads went uncounted
}

type pending struct {
	op     byte
	seq    uint64 // the command event, 0 when none was recorded
	handle string
	path   string
}

// NewTracker returns an empty tracker.
func NewTracker() *Tracker {
	return &Tracker{files: map[string]*file{}, pending: map[uint32]*pending{}}
}

// Command returns the command event to record before req is forwarded, or nil
// for requests that only read metadata or move data (stat, realpath, readdir,
// read, write: their bytes are counted on the handle and reported at close).
func (t *Tracker) Command(req *Request) *session.Command {
	t.mu.Lock()
	defer t.mu.Unlock()
	op := PacketName(req.Type)
	switch req.Type {
	case TypeInit, TypeRead, TypeWrite, TypeLstat, TypeFstat, TypeReaddir, TypeRealpath, TypeStat, TypeReadlink:
		return nil
	case TypeOpen:
		return command(op, req.Paths, openFlags(req.Flags))
	case TypeOpendir, TypeRemove, TypeMkdir, TypeRmdir, TypeSetstat, TypeRename, TypeSymlink:
		return command(op, req.Paths, "")
	case TypeClose, TypeFsetstat:
		return command(op, []string{t.path(req.Handle)}, "")
	case TypeExtended:
		switch req.Extension {
		case "statvfs@openssh.com", "fstatvfs@openssh.com", "limits@openssh.com", "expand-path@openssh.com",
			"home-directory", "users-groups-by-id@openssh.com", "fsync@openssh.com":
			return nil // reads, or makes durable what was already written
		}
		return command(req.Extension, req.Paths, "")
	}
	return command(op, nil, "")
}

// path is the file a handle names; t.mu is held.
func (t *Tracker) path(handle string) string {
	if f := t.files[handle]; f != nil {
		return f.path
	}
	return "(unknown handle)"
}

func command(op string, paths []string, detail string) *session.Command {
	c := &session.Command{Type: "sftp." + op}
	parts := []string{op}
	for _, p := range paths {
		v := p
		c.Params = append(c.Params, &v)
		parts = append(parts, quote(p))
	}
	if detail != "" {
		parts = append(parts, detail)
	}
	c.Text = strings.Join(parts, " ")
	return c
}

// quote leaves ordinary paths as they are and quotes the others.
func quote(p string) string {
	if p != "" && !strings.ContainsFunc(p, func(r rune) bool { return r <= ' ' || r == '"' || r == 0x7f }) {
		return p
	}
	return strconv.Quote(p)
}

func openFlags(f uint32) string {
	var out []string
	for _, x := range []struct {
		bit  uint32
		name string
	}{{FlagRead, "read"}, {FlagWrite, "write"}, {FlagAppend, "append"}, {FlagCreate, "create"}, {FlagTrunc, "truncate"}, {FlagExcl, "excl"}} {
		if f&x.bit != 0 {
			out = append(out, x.name)
		}
	}
	if len(out) == 0 {
		return "(no flags)"
	}
	return strings.Join(out, ",")
}

// Sent tells the tracker that req is being forwarded; seq is its command
// event, 0 when Command returned nil. Call it before the request is written
// upstream, so that its response finds it.
func (t *Tracker) Sent(req *Request, seq uint64) {
	t.mu.Lock()
	defer t.mu.Unlock()
	switch req.Type {
	case TypeWrite:
		if f := t.files[req.Handle]; f != nil {
			f.written += int64(req.Length)
		}
		return
	case TypeRead:
		f := t.files[req.Handle]
		if f == nil {
			return
		}
		if len(t.pending) >= maxPending {
			f.lost = true
			return
		}
		t.pending[req.ID] = &pending{op: TypeRead, handle: req.Handle}
		return
	}
	if seq == 0 || len(t.pending) >= maxPending {
		return
	}
	p := &pending{op: req.Type, seq: seq, handle: req.Handle}
	if len(req.Paths) > 0 {
		p.path = req.Paths[0]
	}
	t.pending[req.ID] = p
}

// Response returns the result event to record for a response, or nil.
// Errors of recorded commands become results with the status; a close
// becomes a result with the bytes read and written through the handle.
func (t *Tracker) Response(resp *Response) *session.Result {
	t.mu.Lock()
	defer t.mu.Unlock()
	if resp.Type == TypeVersion {
		return nil
	}
	p := t.pending[resp.ID]
	if p == nil {
		return nil
	}
	delete(t.pending, resp.ID)
	switch {
	case p.op == TypeRead:
		if f := t.files[p.handle]; f != nil && resp.Type == TypeData {
			f.read += int64(resp.Length)
		}
		return nil
	case resp.Type == TypeHandle && (p.op == TypeOpen || p.op == TypeOpendir):
		if len(t.files) >= maxFiles {
			return &session.Result{Command: p.seq, Truncated: true, Tag: "handle not followed: too many open files"}
		}
		t.files[resp.Handle] = &file{path: p.path}
		return nil
	case p.op == TypeClose:
		f := t.files[p.handle]
		delete(t.files, p.handle)
		r := &session.Result{Command: p.seq}
		if f != nil {
			r.BytesIn, r.BytesOut, r.Truncated = f.written, f.read, f.lost
		}
		if resp.Type == TypeStatus && resp.Code != StatusOK {
			r.Error = statusError(resp)
		}
		return r
	case resp.Type == TypeStatus && resp.Code != StatusOK:
		return &session.Result{Command: p.seq, Error: statusError(resp)}
	}
	return nil
}

// Forget drops what the tracker expected for a request that was not
// forwarded after all.
func (t *Tracker) Forget(req *Request) {
	t.mu.Lock()
	delete(t.pending, req.ID)
	t.mu.Unlock()
}

func statusError(r *Response) *session.Error {
	return &session.Error{Code: "SSH_FX_" + StatusName(r.Code), Message: r.Message}
}
