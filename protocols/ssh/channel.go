package ssh

import (
	"errors"
	"fmt"
	"path"
	"strings"
	"sync"
	"sync/atomic"

	"golang.org/x/crypto/ssh"

	"github.com/hoophq/hoop/protocols/ssh/sftp"
	"github.com/hoophq/hoop/session"
)

// channel relays one session channel (RFC 4254 section 6) between the client
// and the upstream.
//
// Goroutines: the client's requests (request), the upstream's requests (the
// caller of run), stdout and stderr towards the client (copyOut), and input
// towards the upstream (copyIn). The copiers wait for the channel to start, so
// that they know whether to relay raw bytes or sftp packets, and input never
// reaches the upstream before the command it is for.
type channel struct {
	c  *conn
	ch ssh.Channel // the client's
	up ssh.Channel // the upstream's

	decided  chan struct{} // closed when the mode (raw or sftp) is known
	started  chan struct{} // closed when the upstream accepted shell, exec or subsystem
	dead     chan struct{} // closed when the upstream channel has closed
	finished chan struct{} // closed when the client channel is closed
	outputs  sync.WaitGroup

	seen bool // a shell, exec or subsystem request came; request's goroutine only

	mu      sync.Mutex // guards the fields below
	cmd     uint64     // seq of the command that started the channel
	refused bool       // the start was refused: no result
	exits   []*ssh.Request
	exit    *session.Exit

	pty      atomic.Bool
	sftp     atomic.Pointer[sftp.Tracker] // set for the sftp subsystem
	aborted  sync.Once
	in       tap // client to upstream
	stdout   tap
	stderr   tap
	recordIn bool
}

// tap counts and records one direction of a channel.
type tap struct {
	kind      session.Kind
	stream    string
	n         atomic.Int64 // bytes relayed
	kept      int64        // bytes recorded; the tap's goroutine only
	limit     int64        // recording cap; 0 for none
	truncated atomic.Bool
}

// session serves a session channel until both sides have closed it.
func (c *conn) session(nch ssh.NewChannel) {
	up, ureqs, err := c.up.OpenChannel("session", nil)
	if err != nil {
		nch.Reject(ssh.ConnectionFailed, "hoop: the upstream refused a session: "+openError(err))
		return
	}
	// The identity goes first, before anything the client asks for. sshd
	// applies it when its AcceptEnv allows.
	for _, kv := range c.env {
		up.SendRequest("env", false, ssh.Marshal(envRequest{kv[0], kv[1]}))
	}
	ch, reqs, err := nch.Accept()
	if err != nil {
		up.Close()
		go ssh.DiscardRequests(ureqs)
		return
	}
	h := &channel{
		c: c, ch: ch, up: up,
		decided: make(chan struct{}), started: make(chan struct{}),
		dead: make(chan struct{}), finished: make(chan struct{}),
		in:       tap{kind: session.KindInput},
		stdout:   tap{kind: session.KindOutput, stream: "stdout"},
		stderr:   tap{kind: session.KindOutput, stream: "stderr"},
		recordIn: c.srv.conn.SSH.RecordsInput(),
	}
	h.outputs.Add(2)
	go h.copyOut(up, ch, &h.stdout)
	go h.copyOut(up.Stderr(), ch.Stderr(), &h.stderr)
	inDone := make(chan struct{})
	go func() {
		defer close(inDone)
		h.copyIn()
	}()
	go func() {
		for r := range reqs {
			h.request(r)
		}
		up.Close() // the client closed the channel
	}()

	h.upstreamRequests(ureqs) // until the upstream channel closes
	close(h.dead)
	h.outputs.Wait()
	// As sshd orders it: the data, EOF, the exit status, close.
	ch.CloseWrite()
	h.mu.Lock()
	exits := h.exits
	h.mu.Unlock()
	for _, r := range exits {
		ch.SendRequest(r.Type, false, r.Payload)
	}
	ch.Close()
	close(h.finished)
	<-inDone
	h.result()
}

func openError(err error) string {
	var oe *ssh.OpenChannelError
	if errors.As(err, &oe) {
		return oe.Message
	}
	return err.Error()
}

// upstreamRequests forwards the upstream's channel requests to the client and
// keeps exit-status and exit-signal to send after the last output.
func (h *channel) upstreamRequests(reqs <-chan *ssh.Request) {
	for r := range reqs {
		switch r.Type {
		case "exit-status", "exit-signal":
			exit := parseExit(r)
			h.mu.Lock()
			h.exits = append(h.exits, r)
			if exit != nil {
				h.exit = exit
			}
			h.mu.Unlock()
			reply(r, true)
		default:
			ok, err := h.ch.SendRequest(r.Type, r.WantReply, r.Payload)
			reply(r, ok && err == nil)
		}
	}
}

func parseExit(r *ssh.Request) *session.Exit {
	if r.Type == "exit-status" {
		var m exitStatus
		if ssh.Unmarshal(r.Payload, &m) != nil {
			return nil
		}
		return &session.Exit{Status: int(m.Status)}
	}
	var m exitSignal
	if ssh.Unmarshal(r.Payload, &m) != nil {
		return nil
	}
	return &session.Exit{Signal: m.Signal, CoreDumped: m.CoreDumped, Message: m.Message}
}

func reply(r *ssh.Request, ok bool) {
	if r.WantReply {
		r.Reply(ok, nil)
	}
}

// request handles one of the client's channel requests.
func (h *channel) request(r *ssh.Request) {
	switch r.Type {
	case "pty-req":
		var m ptyRequest
		if ssh.Unmarshal(r.Payload, &m) != nil || h.seen {
			reply(r, false)
			return
		}
		h.pty.Store(true)
		h.resize(m.Cols, m.Rows)
		h.forward(r)
	case "window-change":
		var m windowChange
		if ssh.Unmarshal(r.Payload, &m) != nil {
			reply(r, false)
			return
		}
		// Recorded once forwarded: a reader of the recording that sees it
		// knows the upstream has it.
		h.forward(r)
		h.resize(m.Cols, m.Rows)
	case "env":
		h.env(r)
	case "shell", "exec", "subsystem":
		h.start(r)
	case "signal":
		var m signalRequest
		if ssh.Unmarshal(r.Payload, &m) != nil {
			reply(r, false)
			return
		}
		h.command(r, &session.Command{Type: "signal", Text: m.Signal})
	case "break":
		h.command(r, &session.Command{Type: "break"})
	case "auth-agent-req@openssh.com":
		reply(r, false)
		h.notice("agent forwarding is refused by the broker")
	case "x11-req":
		reply(r, false)
		h.notice("X11 forwarding is refused by the broker")
	default:
		reply(r, false)
	}
}

// forward sends a request upstream and relays the answer.
func (h *channel) forward(r *ssh.Request) bool {
	ok, err := h.up.SendRequest(r.Type, r.WantReply, r.Payload)
	ok = ok && err == nil
	reply(r, ok)
	return ok
}

// command records a request as a command, then forwards it.
func (h *channel) command(r *ssh.Request, cmd *session.Command) {
	if _, err := h.c.sess.Command(cmd); err != nil {
		reply(r, false)
		h.notice(refusal(err))
		return
	}
	h.forward(r)
}

// notice tells the client something on the channel's stderr.
func (h *channel) notice(msg string) {
	fmt.Fprintf(h.ch.Stderr(), "hoop: %s\r\n", msg)
}

func (h *channel) resize(cols, rows uint32) {
	h.c.sess.Append(session.KindResize, &session.Resize{Cols: int(cols), Rows: int(rows)}, false)
}

// env forwards the variables the connection allows. HOOP_* are the broker's:
// a client's attempt to set one is refused by the policy, and recorded.
func (h *channel) env(r *ssh.Request) {
	var m envRequest
	if ssh.Unmarshal(r.Payload, &m) != nil {
		reply(r, false)
		return
	}
	if strings.HasPrefix(strings.ToUpper(m.Name), "HOOP_") {
		h.c.sess.Command(&session.Command{Type: "env", Text: m.Name, TouchesIdentity: true})
		reply(r, false)
		return
	}
	for _, glob := range h.c.srv.conn.SSH.Env {
		if ok, _ := path.Match(glob, m.Name); ok {
			h.forward(r)
			return
		}
	}
	reply(r, false)
}

// start handles shell, exec and subsystem: the command is recorded durably,
// then forwarded (RFC 4254 section 6.5).
func (h *channel) start(r *ssh.Request) {
	if h.seen {
		reply(r, false) // one per channel
		return
	}
	cmd := &session.Command{Type: r.Type}
	if r.Type != "shell" {
		var m execRequest
		if ssh.Unmarshal(r.Payload, &m) != nil {
			reply(r, false)
			return
		}
		cmd.Text = m.Command
	}
	h.seen = true
	seq, err := h.c.sess.Command(cmd)
	if err != nil {
		h.mu.Lock()
		h.refused = true
		h.mu.Unlock()
		reply(r, true) // so the client reads why, not "exec request failed"
		fail(h.ch, refusal(err), 1)
		h.up.Close()
		return
	}
	h.mu.Lock()
	h.cmd = seq
	h.mu.Unlock()
	if r.Type == "subsystem" && cmd.Text == "sftp" {
		h.sftp.Store(sftp.NewTracker())
	}
	close(h.decided)
	ok, err := h.up.SendRequest(r.Type, true, r.Payload)
	if err != nil || !ok {
		h.c.sess.Result(&session.Result{Command: seq, Error: &session.Error{Message: "the upstream refused the " + r.Type + " request"}})
		reply(r, false)
		return
	}
	reply(r, true)
	close(h.started)
}

// abort ends the channel when its recording failed: nothing more may pass.
func (h *channel) abort(err error) {
	h.aborted.Do(func() {
		h.notice(refusal(err))
		h.ch.Close()
		h.up.Close()
	})
}

// result records how the channel ended: the exit status and the byte counts.
func (h *channel) result() {
	h.mu.Lock()
	seq, refused, exit := h.cmd, h.refused, h.exit
	h.mu.Unlock()
	if seq == 0 || refused {
		return
	}
	h.c.sess.Result(&session.Result{
		Command:   seq,
		Exit:      exit,
		BytesIn:   h.in.n.Load(),
		BytesOut:  h.stdout.n.Load() + h.stderr.n.Load(),
		Truncated: h.in.truncated.Load() || h.stdout.truncated.Load() || h.stderr.truncated.Load(),
	})
}
