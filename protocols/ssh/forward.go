package ssh

import (
	"io"
	"net"
	"strconv"
	"sync"

	"golang.org/x/crypto/ssh"

	"github.com/hoophq/hoop/session"
)

// directTCPIP serves a direct-tcpip channel (RFC 4254 section 7.2: ssh -L,
// ssh -W): refused unless the connection allows port forwarding; otherwise
// recorded with its target, opened from the upstream, and its byte counts
// recorded when it closes.
func (c *conn) directTCPIP(nch ssh.NewChannel) {
	var m directTCPIP
	if err := ssh.Unmarshal(nch.ExtraData(), &m); err != nil {
		nch.Reject(ssh.ConnectionFailed, "hoop: malformed direct-tcpip request")
		return
	}
	target := net.JoinHostPort(m.Host, strconv.Itoa(int(m.Port)))
	if !c.srv.conn.SSH.PortForwarding {
		msg := "port forwarding is not allowed on connection " + c.srv.conn.Name
		c.sess.Append(session.KindError, &session.Error{Message: "refused port forwarding to " + target + ": " + msg}, false)
		nch.Reject(ssh.Prohibited, "hoop: "+msg)
		return
	}
	seq, err := c.sess.Command(&session.Command{Type: "direct-tcpip", Text: target})
	if err != nil {
		nch.Reject(ssh.Prohibited, "hoop: "+refusal(err))
		return
	}
	up, ureqs, err := c.up.OpenChannel("direct-tcpip", nch.ExtraData())
	if err != nil {
		msg := openError(err)
		c.sess.Result(&session.Result{Command: seq, Error: &session.Error{Message: msg}})
		nch.Reject(ssh.ConnectionFailed, "hoop: upstream: "+msg)
		return
	}
	go ssh.DiscardRequests(ureqs)
	ch, reqs, err := nch.Accept()
	if err != nil {
		up.Close()
		return
	}
	go ssh.DiscardRequests(reqs)
	in, out := pipe(ch, up)
	c.sess.Result(&session.Result{Command: seq, BytesIn: in, BytesOut: out})
}

// pipe copies both ways between two channels, passing EOF along, and closes
// both when both directions are done. It returns the bytes a sent to b and
// b sent to a.
func pipe(a, b ssh.Channel) (ab, ba int64) {
	var wg sync.WaitGroup
	wg.Add(2)
	half := func(dst, src ssh.Channel, n *int64) {
		defer wg.Done()
		*n, _ = io.CopyBuffer(dst, src, make([]byte, bufSize))
		dst.CloseWrite()
	}
	go half(b, a, &ab)
	go half(a, b, &ba)
	wg.Wait()
	a.Close()
	b.Close()
	return ab, ba
}
