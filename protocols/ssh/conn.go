package ssh

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"

	"golang.org/x/crypto/ssh"

	"github.com/hoophq/hoop/broker"
)

// maxChannels bounds the channels open at once on one client connection,
// each of which holds an upstream channel and its windows.
const maxChannels = 64

// conn is one authenticated client connection and its upstream.
type conn struct {
	srv  *server
	sc   *ssh.ServerConn
	sess *broker.Session
	up   *ssh.Client
	env  [][2]string // the identity sent upstream with every session channel
}

// serve relays the client's channels until either side goes away, then ends
// the session.
func (c *conn) serve(ctx context.Context, chans <-chan ssh.NewChannel, reqs <-chan *ssh.Request) {
	go refuseGlobal(reqs)
	up, err := c.srv.up.dial(ctx)
	if err != nil {
		c.refuse(chans, err)
		c.sess.End(err)
		return
	}
	c.up = up
	id := c.sess.Identity()
	c.env = [][2]string{
		{"HOOP_USER", id.User()},
		{"HOOP_GROUPS", strings.Join(id.Principal.Groups, ",")},
		{"HOOP_SESSION", c.sess.ID()},
	}

	var clientGone atomic.Bool
	upDone := make(chan struct{})
	go func() {
		up.Wait()
		close(upDone)
		c.sc.Close() // the upstream went away: so does the client
	}()

	var wg sync.WaitGroup
	var open atomic.Int32
	for nch := range chans {
		if open.Load() >= maxChannels {
			nch.Reject(ssh.ResourceShortage, fmt.Sprintf("hoop: at most %d channels at once per connection", maxChannels))
			continue
		}
		switch nch.ChannelType() {
		case "session":
			wg.Add(1)
			open.Add(1)
			go func() {
				defer wg.Done()
				defer open.Add(-1)
				c.session(nch)
			}()
		case "direct-tcpip":
			wg.Add(1)
			open.Add(1)
			go func() {
				defer wg.Done()
				defer open.Add(-1)
				c.directTCPIP(nch)
			}()
		case "x11", "auth-agent@openssh.com":
			nch.Reject(ssh.Prohibited, "hoop: "+nch.ChannelType()+" channels are refused by the broker")
		default:
			nch.Reject(ssh.UnknownChannelType, fmt.Sprintf("hoop: channel type %q is not supported", nch.ChannelType()))
		}
	}
	// The client connection is closed.
	select {
	case <-upDone:
	default:
		clientGone.Store(true)
	}
	up.Close()
	<-upDone
	wg.Wait()
	switch {
	case ctx.Err() != nil:
		c.sess.End(errors.New("the broker stopped"))
	case !clientGone.Load():
		c.sess.End(fmt.Errorf("the upstream %s closed the connection", c.srv.conn.Upstream.Address))
	default:
		c.sess.End(nil)
	}
}

// refuseGlobal answers the client's global requests: remote port forwarding
// (tcpip-forward) and the rest are not offered.
func refuseGlobal(reqs <-chan *ssh.Request) {
	for r := range reqs {
		if r.WantReply {
			r.Reply(false, nil)
		}
	}
}

// refuse serves a client whose upstream could not be reached: each session
// channel reads why on stderr and ends with exit status 255, as ssh itself
// ends when it cannot connect; other channels are rejected with the reason.
func (c *conn) refuse(chans <-chan ssh.NewChannel, cause error) {
	msg := cause.Error()
	for nch := range chans {
		if nch.ChannelType() != "session" {
			nch.Reject(ssh.ConnectionFailed, "hoop: "+msg)
			continue
		}
		ch, reqs, err := nch.Accept()
		if err != nil {
			continue
		}
		go func() {
			defer ch.Close()
			for r := range reqs {
				switch r.Type {
				case "shell", "exec", "subsystem":
					r.Reply(true, nil)
					fail(ch, msg, 255)
					return
				case "pty-req":
					r.Reply(true, nil)
				default:
					r.Reply(false, nil)
				}
			}
		}()
	}
}

// fail tells the client why on stderr, sends the exit status and closes the
// channel.
func fail(ch ssh.Channel, msg string, status uint32) {
	fmt.Fprintf(ch.Stderr(), "hoop: %s\r\n", msg)
	ch.SendRequest("exit-status", false, ssh.Marshal(exitStatus{status}))
	ch.CloseWrite()
	ch.Close()
}

// refusal is what the client reads when Command refuses: the policy's message,
// or the fail-closed one.
func refusal(err error) string {
	var de *broker.DeniedError
	if errors.As(err, &de) {
		return "denied: " + de.Message
	}
	return "the session could not be recorded, so this was not run"
}
