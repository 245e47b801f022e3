package mysql

import (
	"context"
	"crypto/rand"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"strconv"
	"strings"
	"time"

	gm "github.com/go-mysql-org/go-mysql/mysql"

	"github.com/hoophq/hoop/broker"
)

// utf8mb4GeneralCI is the collation the greeting announces.
const utf8mb4GeneralCI = 45

// serve runs the connection: login, then commands until the client quits or
// a leg fails, then the end of the session.
func (c *conn) serve(ctx context.Context) {
	c.threadID = c.srv.threads.reserve()
	defer c.srv.threads.release(c.threadID)
	defer c.close()
	if err := c.login(ctx); err != nil {
		return
	}
	err := c.commands()
	if cause := c.abortCause(); cause != nil {
		err = cause
	}
	var ce *clientError
	if errors.Is(err, errQuit) || errors.As(err, &ce) && isDisconnect(err) {
		err = nil
	}
	c.sess.End(err)
}

func (c *conn) close() {
	c.nc.Close()
	if c.up != nil {
		c.up.close()
	}
}

// login runs the connection phase: the greeting, TLS, the token as a
// mysql_clear_password password, the session's start and the upstream login.
// It reports its own failures (Reject before a token, Deny for a refused
// token, the session's end after) and returns an error when the connection
// must close.
func (c *conn) login(ctx context.Context) error {
	addr := c.nc.RemoteAddr()
	deadline := time.Now().Add(time.Duration(c.ep.Conn.HandshakeTimeout))
	c.nc.SetDeadline(deadline)
	reject := func(e *errPacket, err error) error {
		if e != nil {
			c.sendErr(e)
		}
		c.ep.Reject(addr, err)
		return err
	}

	newSalt(&c.salt)
	caps := uint32(serverCapabilities)
	if c.ep.TLS != nil {
		caps |= gm.CLIENT_SSL
	}
	hello := initialHandshake{
		ServerVersion: c.ep.Conn.MySQL.ServerVersion, ThreadID: c.threadID, Salt: c.salt,
		Capabilities: caps, Charset: utf8mb4GeneralCI, Status: gm.SERVER_STATUS_AUTOCOMMIT,
		AuthPlugin: gm.AUTH_NATIVE_PASSWORD,
	}
	c.cseq = 0
	c.buf = hello.encode(c.buf[:0])
	if err := c.writeClient(c.buf); err != nil {
		return reject(nil, err)
	}
	resp, err := c.readHandshakeResponse()
	if err != nil {
		return reject(handshakeErr(err), err)
	}
	if resp.SSLRequest {
		if c.ep.TLS == nil {
			err := errors.New("the client asked for TLS, which this connection does not offer")
			return reject(newErr(gm.ER_HANDSHAKE_ERROR, "%v", err), err)
		}
		if err := c.startTLS(ctx); err != nil {
			return reject(nil, fmt.Errorf("TLS handshake: %w", err))
		}
		if resp, err = c.readHandshakeResponse(); err != nil {
			return reject(handshakeErr(err), err)
		}
		if resp.SSLRequest {
			err := fmt.Errorf("%w: a second SSLRequest", ErrMalformed)
			return reject(handshakeErr(err), err)
		}
	}
	c.caps = resp.Capabilities & caps
	client := broker.Client{Addr: addr, Meta: c.meta(resp)}

	if !c.tls && c.ep.TLS != nil {
		// Refused before the token is asked for. A client that sent it in its
		// first packet anyway (--default-auth=mysql_clear_password without
		// --ssl) has already exposed it; it is refused all the same.
		err := fmt.Errorf("connection %q requires TLS: the token travels as a clear-text password, so connect with --ssl", c.ep.Conn.Name)
		return reject(newErr(gm.ER_ACCESS_DENIED_ERROR, "%v", err), err)
	}
	token, err := c.token(resp)
	if err != nil {
		return reject(nil, err)
	}
	id, err := c.ep.Authenticate(ctx, token)
	if err != nil {
		c.ep.Deny(client, err.Error())
		c.sendErr(newErr(gm.ER_ACCESS_DENIED_ERROR, "%v", err))
		return err
	}
	sess, err := c.ep.Open(ctx, id, client)
	if err != nil {
		var de *broker.DeniedError
		if errors.As(err, &de) {
			c.sendErr(newErr(gm.ER_ACCESS_DENIED_ERROR, "%s", de.Message))
		} else {
			c.sendErr(newErr(gm.ER_UNKNOWN_ERROR, "the session could not be recorded, so it was not opened"))
			c.ep.Reject(addr, err)
		}
		return err
	}
	c.id, c.sess = id, sess

	u, err := dialUpstream(ctx, &c.ep.Conn.Upstream, dialOptions{
		Capabilities: c.caps,
		Charset:      resp.Charset,
		Database:     resp.Database,
		LocalInfile:  c.ep.Conn.MySQL.LocalInfile,
		Identity:     identityOf(id, sess.ID()),
	})
	if err != nil {
		c.sendErr(newErr(gm.ER_UNKNOWN_ERROR, "cannot log in upstream: %v", err))
		sess.End(err)
		return err
	}
	c.setUpstream(u)
	c.srv.threads.bind(c.threadID, u.threadID, id)
	c.nc.SetDeadline(time.Time{})
	return c.sendOK(&okPacket{Status: gm.SERVER_STATUS_AUTOCOMMIT})
}

func (c *conn) readHandshakeResponse() (*handshakeResponse, error) {
	p, err := c.readClient()
	if err != nil {
		return nil, err
	}
	return decodeHandshakeResponse(p)
}

// handshakeErr is the ERR packet for a failed handshake read, if one can
// still be sent.
func handshakeErr(err error) *errPacket {
	var tl *PacketTooLargeError
	switch {
	case errors.As(err, &tl):
		return newErr(gm.ER_NET_PACKET_TOO_LARGE, "%v", err)
	case errors.Is(err, ErrMalformed):
		return newErr(gm.ER_HANDSHAKE_ERROR, "Bad handshake: %v", err)
	}
	return nil
}

// startTLS upgrades the client connection after an SSLRequest. The client
// may already have sent its ClientHello, buffered in the packet reader: the
// TLS server reads through that buffer.
func (c *conn) startTLS(ctx context.Context) error {
	tc := tls.Server(&bufferedConn{Conn: c.nc, r: c.cr.r}, c.ep.TLS)
	if err := tc.HandshakeContext(ctx); err != nil {
		return err
	}
	c.nc, c.tls = tc, true
	c.cr = newPacketReader(tc, c.cr.limit)
	c.cw = newPacketWriter(tc)
	return nil
}

type bufferedConn struct {
	net.Conn
	r io.Reader
}

func (b *bufferedConn) Read(p []byte) (int, error) { return b.r.Read(p) }

// token gets the client's token: from its handshake response when it used
// mysql_clear_password at once, otherwise by switching it to that plugin.
func (c *conn) token(resp *handshakeResponse) (string, error) {
	if resp.AuthPlugin == gm.AUTH_CLEAR_PASSWORD && len(resp.AuthResponse) > 0 {
		return clearPassword(resp.AuthResponse), nil
	}
	sw := authSwitchRequest{Plugin: gm.AUTH_CLEAR_PASSWORD, Data: c.salt[:]}
	c.buf = sw.encode(c.buf[:0])
	if err := c.writeClient(c.buf); err != nil {
		return "", err
	}
	p, err := c.readClient()
	if err != nil {
		if isDisconnect(err) {
			return "", fmt.Errorf("the client hung up when asked for its token with mysql_clear_password (enable the clear-text plugin: mariadb --enable-cleartext-plugin, mysql --enable-cleartext-plugin, Go allowCleartextPasswords=true): %w", err)
		}
		return "", err
	}
	return clearPassword(p), nil
}

// meta is the client's detail for the session record. It never holds the
// token.
func (c *conn) meta(resp *handshakeResponse) map[string]string {
	m := map[string]string{
		"user":      resp.User,
		"thread_id": strconv.FormatUint(uint64(c.threadID), 10),
		"tls":       "off",
	}
	if c.tls {
		m["tls"] = "on"
	}
	if resp.Database != "" {
		m["database"] = resp.Database
	}
	for _, k := range []string{"program_name", "_client_name", "_client_version"} {
		if v := resp.Attrs[k]; v != "" {
			m[strings.TrimPrefix(k, "_")] = v
		}
	}
	return m
}

func identityOf(id *broker.Identity, sessionID string) identity {
	actors := make([]string, len(id.Actors))
	for i, a := range id.Actors {
		actors[i] = a.Subject
	}
	return identity{
		User:    id.User(),
		Groups:  strings.Join(id.Principal.Groups, ","),
		Session: sessionID,
		Actors:  strings.Join(actors, ","),
	}
}

// newSalt fills a scramble with random bytes that are never NUL, as servers
// send them: some clients read the second part as a C string.
func newSalt(s *[20]byte) {
	rand.Read(s[:])
	for i := range s {
		s[i] = s[i]%127 + 1
	}
}
