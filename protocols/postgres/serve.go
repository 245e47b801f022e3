package postgres

import (
	"context"
	"crypto/tls"
	"errors"
	"io"
	"net"
	"slices"
	"time"

	"github.com/jackc/pgx/v5/pgproto3"

	"github.com/hoophq/hoop/broker"
	"github.com/hoophq/hoop/config"
)

// Serve serves Postgres clients on ln for the endpoint's connection, one
// goroutine per client, until ctx is done or ln is closed. It returns only
// after every client connection has ended: on ctx done, sessions are told the
// broker is shutting down (FATAL 57P01), their connections are closed and
// their sessions end. It returns nil when ctx ended it or ln was closed, else
// the accept error.
func Serve(ctx context.Context, ln net.Listener, ep *broker.Endpoint) error {
	srv := &server{ep: ep, cancels: newCancels()}
	return ep.Serve(ctx, ln, srv.serveConn)
}

// server is one listener's state.
type server struct {
	ep      *broker.Endpoint
	cancels *cancels
}

func (srv *server) maxMessage() int64 {
	if n := int64(srv.ep.Conn.MaxMessageSize); n > 0 {
		return n
	}
	return config.DefaultMaxMessageSize
}

// reject answers a client dropped before it has a session — with pe as a
// FATAL ErrorResponse when pe has a message — closes its connection and
// reports it.
func (srv *server) reject(conn net.Conn, pe *pgError) {
	if pe.Message != "" {
		conn.SetWriteDeadline(time.Now().Add(time.Second))
		conn.Write(pe.encode(nil))
	}
	lingerClose(conn)
	srv.ep.Reject(conn.RemoteAddr(), pe)
}

// lingerTimeout bounds how long lingerClose waits for the client to close.
const lingerTimeout = 250 * time.Millisecond

// lingerClose closes a connection after a final message without destroying
// it: closing a socket with unread input makes the kernel reset the
// connection, and a reset can discard the FATAL the client has not read yet.
// So the write side is shut first (the client reads the error, then EOF), and
// what the client still sends is discarded until it closes, or briefly.
func lingerClose(conn net.Conn) {
	raw := conn
	if tc, ok := conn.(*tls.Conn); ok {
		tc.SetWriteDeadline(time.Now().Add(lingerTimeout))
		tc.CloseWrite() // close_notify
		raw = tc.NetConn()
	}
	if cw, ok := raw.(interface{ CloseWrite() error }); ok {
		cw.CloseWrite()
	}
	raw.SetReadDeadline(time.Now().Add(lingerTimeout))
	io.CopyN(io.Discard, raw, 1<<20)
	raw.Close()
}

// serveConn serves one client connection from its first byte to its end.
// ctx is canceled when the broker shuts down. The caller closes raw.
func (srv *server) serveConn(ctx context.Context, raw net.Conn) {
	timeout := srv.ep.Conn.HandshakeTimeout.D()
	if timeout <= 0 {
		timeout = config.DefaultHandshakeTimeout
	}
	raw.SetDeadline(time.Now().Add(timeout))
	// Until the session's relay watches ctx, a shutdown ends the handshake.
	stop := context.AfterFunc(ctx, func() { raw.SetDeadline(time.Now()) })
	hctx, cancel := context.WithTimeout(ctx, timeout)
	conn, sp := srv.negotiate(hctx, raw)
	var lg *login
	if sp != nil {
		lg = srv.authenticate(hctx, conn, sp)
	}
	cancel()
	if !stop() || lg == nil {
		return
	}
	raw.SetDeadline(time.Time{})
	defer lg.conn.Close()
	s := srv.open(ctx, lg)
	if s == nil {
		return
	}
	s.End(srv.session(ctx, s, lg))
	lingerClose(lg.conn)
}

// session connects the session upstream, greets the client and relays, and
// returns why the session ended. The caller closes the client connection.
func (srv *server) session(ctx context.Context, s *broker.Session, lg *login) error {
	ep := srv.ep
	if done, err := refuseIdentityParams(lg.conn, s, lg.startup); done {
		return err
	}
	database := ep.Conn.Upstream.Database
	if database == "" {
		if database = lg.startup.Get("database"); database == "" {
			database = lg.startup.Get("user")
		}
	}
	params, err := runtimeParams(lg.id, s.ID(), lg.startup)
	if err != nil {
		lg.conn.Write(fatalf(codeInvalidAuthorization, "hoop: %v", err).encode(nil))
		return err
	}
	up, err := dialUpstream(ctx, ep.Conn, database, params)
	if err != nil {
		reason := upstreamReason(err, ep.Conn.Upstream.Password.Value())
		pe := fatalf(codeUnableToConnect, "hoop: could not connect to upstream %s: %s", ep.Conn.Name, reason)
		if ctx.Err() != nil {
			pe = fatalf(codeAdminShutdown, "hoop: the broker is shutting down")
		}
		lg.conn.Write(pe.encode(nil))
		return errors.New(pe.Message)
	}
	defer up.conn.Close()
	timeout := ep.Conn.Upstream.ConnectTimeout.D()
	if timeout <= 0 {
		timeout = config.DefaultConnectTimeout
	}
	key := srv.cancels.register(&cancelTarget{s: s, addr: up.addr, pid: up.pid, secret: up.secret, timeout: timeout})
	defer srv.cancels.remove(key)
	if _, err := lg.conn.Write(greeting(up, key)); err != nil {
		return nil // the client went away
	}
	r := newRelay(s, s.Recording(), lg.conn, lg.fr, up, srv.maxMessage())
	r.pids.server, r.pids.client = up.pid, key.pid
	return r.run(ctx)
}

// greeting is what the client gets once the session is up: AuthenticationOk,
// the server's parameters, the broker's key for cancel requests, and
// ReadyForQuery.
func greeting(up *upstream, key cancelKey) []byte {
	out, _ := (&pgproto3.AuthenticationOk{}).Encode(nil)
	names := make([]string, 0, len(up.params))
	for name := range up.params {
		names = append(names, name)
	}
	slices.Sort(names)
	for _, name := range names {
		out, _ = (&pgproto3.ParameterStatus{Name: name, Value: up.params[name]}).Encode(out)
	}
	out, _ = (&pgproto3.BackendKeyData{ProcessID: key.pid, SecretKey: key.secret[:]}).Encode(out)
	out, _ = (&pgproto3.ReadyForQuery{TxStatus: up.txStatus}).Encode(out)
	return out
}
