package ssh

import (
	"context"
	"net"
	"time"

	"golang.org/x/crypto/ssh"

	"github.com/hoophq/hoop/broker"
	"github.com/hoophq/hoop/config"
)

// server is one connection's SSH listener.
type server struct {
	ep   *broker.Endpoint
	conn *config.Connection
	base *ssh.ServerConfig // host key and limits; copied per client with its callbacks
	keys *keyring
	up   *upstream
}

func newServer(ep *broker.Endpoint) (*server, error) {
	conn := ep.Conn
	hk, err := hostKey(&conn.SSH)
	if err != nil {
		return nil, err
	}
	keys, err := newKeyring(&conn.SSH)
	if err != nil {
		return nil, err
	}
	up, err := newUpstream(conn)
	if err != nil {
		return nil, err
	}
	base := &ssh.ServerConfig{ServerVersion: "SSH-2.0-hoop", MaxAuthTries: 6}
	base.AddHostKey(hk)
	return &server{ep: ep, conn: conn, base: base, keys: keys, up: up}, nil
}

// Serve serves SSH clients on ln for the endpoint's connection until ctx is
// done or ln fails. Then client connections are closed and their sessions
// end; Serve returns once they have.
func Serve(ctx context.Context, ln net.Listener, ep *broker.Endpoint) error {
	srv, err := newServer(ep)
	if err != nil {
		return err
	}
	return ep.Serve(ctx, ln, srv.handle)
}

// handle authenticates one client and serves its connection. When ctx is
// canceled (the broker shuts down) it closes nc, which ends the connection
// and its session.
func (s *server) handle(ctx context.Context, nc net.Conn) {
	stop := context.AfterFunc(ctx, func() { nc.Close() })
	defer stop()
	timeout := s.conn.HandshakeTimeout.D()
	hctx, cancel := context.WithTimeout(ctx, timeout)
	l := &login{srv: s, ctx: hctx, addr: nc.RemoteAddr()}
	nc.SetDeadline(time.Now().Add(timeout))
	sc, chans, reqs, err := ssh.NewServerConn(nc, l.config())
	cancel()
	if err != nil {
		switch {
		case l.sess != nil: // authenticated, then the handshake broke
			l.sess.End(err)
		case l.denied != "": // Open recorded the refusal
		case l.tried:
			s.ep.Deny(broker.Client{Addr: nc.RemoteAddr(), Meta: map[string]string{"ssh_user": l.user}}, l.failure)
		default:
			s.ep.Reject(nc.RemoteAddr(), err)
		}
		return
	}
	nc.SetDeadline(time.Time{})
	c := &conn{srv: s, sc: sc, sess: l.sess}
	c.serve(ctx, chans, reqs)
}
