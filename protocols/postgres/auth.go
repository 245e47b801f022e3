package postgres

import (
	"context"
	"errors"
	"fmt"
	"net"
	"strings"

	"github.com/jackc/pgx/v5/pgproto3"

	"github.com/hoophq/hoop/broker"
	"github.com/hoophq/hoop/session"
)

// login is a client that presented a valid token.
type login struct {
	conn    net.Conn // TLS when negotiated
	fr      *framer  // reads conn from here on
	startup *startupPacket
	id      *broker.Identity
	client  broker.Client
}

// authenticate asks for the password — the token — and verifies it. A token
// that does not verify is recorded as a denied session (Endpoint.Deny) and
// answered FATAL 28P01 with the reason, which psql prints. It returns nil when
// the connection is done.
func (srv *server) authenticate(ctx context.Context, conn net.Conn, sp *startupPacket) *login {
	ep := srv.ep
	client := broker.Client{Addr: conn.RemoteAddr(), Meta: clientMeta(sp)}
	out := negotiateVersion(sp)
	out, _ = (&pgproto3.AuthenticationCleartextPassword{}).Encode(out)
	if _, err := conn.Write(out); err != nil {
		ep.Reject(client.Addr, err)
		return nil
	}
	fr := newFramer(conn, srv.maxMessage())
	msg, err := fr.Next()
	if err != nil {
		srv.reject(conn, passwordReadError(err, srv))
		return nil
	}
	token, err := decodePassword(msg)
	if err != nil {
		srv.reject(conn, fatalf(codeProtocolViolation, "hoop: %v", err))
		return nil
	}
	id, err := ep.Authenticate(ctx, token)
	if err != nil {
		reason := "authentication failed"
		var ae *broker.AuthError
		if errors.As(err, &ae) {
			reason = ae.Reason
		}
		ep.Deny(client, reason)
		conn.Write(fatalf(codeInvalidPassword, "password authentication failed: %s", reason).encode(nil))
		lingerClose(conn)
		return nil
	}
	return &login{conn: conn, fr: fr, startup: sp, id: id, client: client}
}

func passwordReadError(err error, srv *server) *pgError {
	var fe *frameError
	if errors.As(err, &fe) {
		return fatalf(codeProtocolViolation, "hoop: invalid password message").wrap(err)
	}
	pe := startupError(err, srv.ep.Conn.HandshakeTimeout.D())
	pe.Err = fmt.Errorf("reading the password: %w", pe.Err)
	return pe
}

// clientMeta is what the session records of the client's startup message.
func clientMeta(sp *startupPacket) map[string]string {
	meta := map[string]string{}
	for _, k := range []string{"user", "database", "application_name"} {
		if v := sp.Get(k); v != "" {
			meta[k] = v
		}
	}
	return meta
}

// open starts the recorded session. Access refused is FATAL 42501 (the broker
// has recorded the denied session). It returns nil when the connection is
// done.
func (srv *server) open(ctx context.Context, lg *login) *broker.Session {
	s, err := srv.ep.Open(ctx, lg.id, lg.client)
	if err == nil {
		return s
	}
	var de *broker.DeniedError
	if errors.As(err, &de) {
		lg.conn.Write(fatalf(codeInsufficientPriv, "%s", de.Message).encode(nil))
		lingerClose(lg.conn)
		return nil
	}
	srv.reject(lg.conn, fatalf(codeIOError, "hoop: the session can't be recorded; connection refused").wrap(err))
	return nil
}

// identityParams returns the parts of a startup message that try to set the
// broker's identity settings: hoop.* parameters, or an options parameter
// that mentions hoop. once its backslash escapes are undone, as the server
// splits it ("" when there are none). Other options are dropped.
func identityParams(sp *startupPacket) string {
	var parts []string
	for _, kv := range sp.Params {
		name := strings.ToLower(kv.Name)
		opts := strings.ToLower(strings.ReplaceAll(kv.Value, `\`, ""))
		if isIdentityName(name) || name == "options" && strings.Contains(opts, identityPrefix) {
			parts = append(parts, kv.Name+"="+kv.Value)
		}
	}
	return strings.Join(parts, " ")
}

// refuseIdentityParams records a startup message that tries to set the
// identity settings as a command (refused by the policy) and answers FATAL
// 42501. It reports whether the session must end, and why.
func refuseIdentityParams(conn net.Conn, s *broker.Session, sp *startupPacket) (done bool, err error) {
	text := identityParams(sp)
	if text == "" {
		return false, nil
	}
	if _, err = s.Command(&session.Command{Type: "startup", Text: text, TouchesIdentity: true}); err == nil {
		return false, nil // allowed by policy; the parameters are dropped all the same
	}
	msg := "hoop: the session can't be recorded; connection refused"
	code := codeIOError
	var de *broker.DeniedError
	if errors.As(err, &de) {
		msg, code = de.Message, codeInsufficientPriv
	}
	conn.Write(fatalf(code, "%s", msg).encode(nil))
	return true, err
}
