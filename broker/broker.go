// Package broker is what the protocols plug into: it authenticates callers,
// decides access and policy, binds each client connection to a recorded session,
// and holds the upstream credentials that clients never see.
//
// A protocol package serves one listener per connection:
//
//	Serve(ctx context.Context, ln net.Listener, ep *broker.Endpoint) error
//
// and accepts its clients with ep.Serve, which runs one goroutine per client
// and, on shutdown, has every client end before it returns.
//
// For each client it calls ep.Authenticate with the token the client sent, then
// ep.Open, which checks access and records session.start. Every command goes
// through Session.Command (the policy decision point, then a durable record)
// before its bytes go upstream; results go to Session.Result; Session.End seals
// the session. Protocol packages never log: they return errors, and the broker
// logs them scoped to the connection and session.
package broker

import (
	"context"
	"crypto/ed25519"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"

	"github.com/hoophq/hoop/config"
	"github.com/hoophq/hoop/session"
)

// Broker binds the configuration, the authenticator and the recorder.
type Broker struct {
	cfg  *config.Config
	auth *Authenticator
	rec  *session.Recorder
	log  *slog.Logger
	cert *tls.Certificate // generated self-signed certificate, shared by listeners
}

// New returns a broker. key is the broker's signing key; rec records sessions.
func New(cfg *config.Config, key ed25519.PrivateKey, rec *session.Recorder, log *slog.Logger) *Broker {
	return &Broker{cfg: cfg, auth: NewAuthenticator(&cfg.Identity, key), rec: rec, log: log}
}

// Authenticator verifies and issues tokens.
func (b *Broker) Authenticator() *Authenticator { return b.auth }

// Recorder is the session recorder.
func (b *Broker) Recorder() *session.Recorder { return b.rec }

// Endpoint returns the endpoint a protocol serves for conn, with its listener
// TLS configuration.
func (b *Broker) Endpoint(conn *config.Connection) (*Endpoint, error) {
	ep := &Endpoint{b: b, Conn: conn, log: b.log.With("connection", conn.Name, "protocol", conn.Protocol)}
	if conn.TLS.Mode != "off" {
		cfg, err := b.listenerTLS(conn)
		if err != nil {
			return nil, fmt.Errorf("connection %s: %w", conn.Name, err)
		}
		ep.TLS = cfg
	}
	return ep, nil
}

// An Endpoint is one connection's view of the broker, handed to its protocol.
type Endpoint struct {
	b *Broker
	// Conn is the connection's configuration, including the upstream credential.
	Conn *config.Connection
	// TLS is the listener's TLS configuration; nil when the connection says
	// tls: off.
	TLS *tls.Config
	log *slog.Logger
}

// Authenticate verifies the token a client sent. A failure returns an
// *AuthError whose message may be shown to the client; the caller must then
// call Deny so the failed login is recorded.
func (e *Endpoint) Authenticate(ctx context.Context, token string) (*Identity, error) {
	return e.b.auth.Authenticate(ctx, token)
}

// DeniedError is returned when access or policy refuses something. Its message
// is meant for the client.
type DeniedError struct {
	Rule    string
	Message string
}

func (e *DeniedError) Error() string { return e.Message }

// Client describes the client side of a connection, for the session record.
type Client struct {
	Addr net.Addr
	// Meta is protocol detail: database, user name given, application name.
	Meta map[string]string
}

// Open checks that id may use the connection and starts its recorded session.
// When access is refused it records a denied session and returns a
// *DeniedError.
func (e *Endpoint) Open(ctx context.Context, id *Identity, c Client) (*Session, error) {
	info := e.info(id, c)
	if !id.InAnyGroup(e.Conn.Access.Groups) {
		msg := fmt.Sprintf("user %q is not in a group allowed to use connection %q", id.User(), e.Conn.Name)
		e.deny(info, msg)
		return nil, &DeniedError{Rule: "builtin:access", Message: msg}
	}
	rs, err := e.b.rec.Start(info, e.b.cfg.EffectiveDurability(e.Conn) == config.DurabilityFsync)
	if err != nil {
		return nil, err
	}
	s := &Session{ep: e, id: id, rec: rs, log: e.log.With("session", rs.ID(), "user", id.User())}
	s.log.Info("session started", "client", info.ClientAddr)
	return s, nil
}

// Deny records a failed login (a session with outcome denied) for a client
// whose token did not verify. reason is what the client was told.
func (e *Endpoint) Deny(c Client, reason string) {
	e.deny(e.info(nil, c), reason)
}

func (e *Endpoint) deny(info session.Info, reason string) {
	log := e.log.With("client", info.ClientAddr, "user", info.Principal.Subject)
	s, err := e.b.rec.Start(info, false)
	if err == nil {
		err = s.End(session.OutcomeDenied, reason)
	}
	if err != nil {
		log.Error("recording a denied login failed", "err", err)
	}
	log.Warn("login denied", "reason", reason)
}

// Reject logs a client dropped before it authenticated (a malformed startup,
// a timeout, a refused TLS setting). Nothing is recorded: no identity exists.
func (e *Endpoint) Reject(client net.Addr, err error) {
	e.log.Info("client rejected", "client", addr(client), "err", err)
}

func (e *Endpoint) info(id *Identity, c Client) session.Info {
	info := session.Info{
		Connection: e.Conn.Name,
		Protocol:   e.Conn.Protocol,
		ClientAddr: addr(c.Addr),
		Meta:       c.Meta,
	}
	if id != nil {
		info.Principal = id.Principal
		info.Actors = id.Actors
		info.Parent = id.Parent
	}
	return info
}

func addr(a net.Addr) string {
	if a == nil {
		return ""
	}
	return a.String()
}

// A Session is one authenticated client connection, recorded.
type Session struct {
	ep  *Endpoint
	id  *Identity
	rec *session.Session
	log *slog.Logger
}

// ID is the session id.
func (s *Session) ID() string { return s.rec.ID() }

// Identity is the authenticated caller.
func (s *Session) Identity() *Identity { return s.id }

// Upstream is the connection's upstream target and credential.
func (s *Session) Upstream() *config.Upstream { return &s.ep.Conn.Upstream }

// Recording returns the result caps of the connection.
func (s *Session) Recording() config.Recording { return s.ep.Conn.Recording }

// Command passes c through the policy and records it durably. When it returns
// nil the command may be forwarded; it returns the command's seq, for results
// to refer to. A *DeniedError means the policy refused it (the refusal is
// recorded); a *session.StoreError means it could not be recorded and must not
// run. Either way the protocol answers the client with a native error.
func (s *Session) Command(c *session.Command) (uint64, error) {
	d := s.decide(c)
	if d.Action != Allow {
		_, err := s.rec.Append(session.KindPolicy, &session.Decision{Action: string(d.Action), Rule: d.Rule, Message: d.Message, Command: *c}, true)
		if err != nil {
			return 0, err
		}
		s.log.Warn("command denied", "rule", d.Rule)
		return 0, &DeniedError{Rule: d.Rule, Message: d.Message}
	}
	return s.rec.Command(c)
}

// Result records a result, without waiting.
func (s *Session) Result(r *session.Result) error { return s.rec.Result(r) }

// Append records any other event (output, input, resize, error).
func (s *Session) Append(kind session.Kind, payload any, durable bool) (uint64, error) {
	return s.rec.Append(kind, payload, durable)
}

// End seals the session. err is why it ended: nil or io.EOF for a normal end.
func (s *Session) End(err error) {
	outcome, reason := session.OutcomeOK, ""
	var de *DeniedError
	switch {
	case err == nil, errors.Is(err, io.EOF):
	case errors.As(err, &de):
		outcome, reason = session.OutcomeDenied, de.Message
	default:
		outcome, reason = session.OutcomeError, err.Error()
	}
	if rerr := s.rec.End(outcome, reason); rerr != nil {
		s.log.Error("sealing the session failed", "err", rerr)
	}
	if outcome == session.OutcomeOK {
		s.log.Info("session ended")
	} else {
		s.log.Info("session ended", "outcome", outcome, "reason", reason)
	}
}
