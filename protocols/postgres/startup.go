package postgres

import (
	"bytes"
	"context"
	"crypto/tls"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"strings"
	"time"

	"github.com/jackc/pgx/v5/pgproto3"
)

// Request codes of the untyped startup-phase packets (protocol "Message
// Formats": SSLRequest, GSSENCRequest, CancelRequest).
const (
	codeSSLRequest    = 80877103
	codeGSSENCRequest = 80877104
	codeCancelRequest = 80877102
)

// Protocol versions.
const (
	protocol30    = pgproto3.ProtocolVersion30
	protocolMajor = 3
)

// minStartupLen is the smallest startup-phase packet: its length and a code.
const minStartupLen = 8

// startupKind is what an untyped startup-phase packet asks for.
type startupKind int

const (
	kindStartup startupKind = iota + 1
	kindSSL
	kindGSSENC
	kindCancel
)

// param is one name/value pair of a StartupMessage, in packet order.
type param struct{ Name, Value string }

// startupPacket is a decoded startup-phase packet.
type startupPacket struct {
	Kind startupKind
	// Version is the requested protocol version of a StartupMessage.
	Version uint32
	// Params are the StartupMessage's parameters, in order.
	Params []param
	// Cancel is the decoded CancelRequest.
	Cancel pgproto3.CancelRequest
}

// Get returns the value of parameter name, or "".
func (p *startupPacket) Get(name string) string {
	for _, kv := range p.Params {
		if kv.Name == name {
			return kv.Value
		}
	}
	return ""
}

// errStartup is wrapped by every startup packet decoding error.
var errStartup = errors.New("invalid startup packet")

// readStartup reads one startup-phase packet from r and returns its body (the
// bytes after the length). It reads exactly the packet, with no read-ahead:
// after an SSLRequest the next bytes belong to the TLS handshake.
func readStartup(r io.Reader, max int64) ([]byte, error) {
	var hdr [4]byte
	if _, err := io.ReadFull(r, hdr[:]); err != nil {
		return nil, err
	}
	n := int64(binary.BigEndian.Uint32(hdr[:]))
	if n < minStartupLen {
		return nil, fmt.Errorf("%w: length %d", errStartup, n)
	}
	if n > max {
		return nil, fmt.Errorf("%w: length %d over max_message_size %d: %w", errStartup, n, max, ErrMessageTooLarge)
	}
	body := make([]byte, n-4)
	if _, err := io.ReadFull(r, body); err != nil {
		return nil, unexpected(err)
	}
	return body, nil
}

// decodeStartup decodes the body of a startup-phase packet.
func decodeStartup(body []byte) (*startupPacket, error) {
	if len(body) < 4 {
		return nil, fmt.Errorf("%w: %d bytes", errStartup, len(body))
	}
	code := binary.BigEndian.Uint32(body)
	switch code {
	case codeSSLRequest, codeGSSENCRequest:
		if len(body) != 4 {
			return nil, fmt.Errorf("%w: request of %d bytes", errStartup, len(body))
		}
		if code == codeSSLRequest {
			return &startupPacket{Kind: kindSSL}, nil
		}
		return &startupPacket{Kind: kindGSSENC}, nil
	case codeCancelRequest:
		p := &startupPacket{Kind: kindCancel}
		if err := p.Cancel.Decode(body); err != nil {
			return nil, fmt.Errorf("%w: %v", errStartup, err)
		}
		return p, nil
	}
	p := &startupPacket{Kind: kindStartup, Version: code}
	if code>>16 != protocolMajor {
		// Not ours to parse: the caller answers "unsupported protocol".
		return p, nil
	}
	rest := body[4:]
	for {
		name, r, ok := cstring(rest)
		if !ok {
			return nil, fmt.Errorf("%w: unterminated parameter list", errStartup)
		}
		rest = r
		if name == "" {
			break
		}
		value, r, ok := cstring(rest)
		if !ok {
			return nil, fmt.Errorf("%w: parameter %q has no value", errStartup, name)
		}
		rest = r
		p.Params = append(p.Params, param{name, value})
	}
	if len(rest) != 0 {
		return nil, fmt.Errorf("%w: %d bytes after the parameter list", errStartup, len(rest))
	}
	if p.Get("user") == "" {
		return nil, fmt.Errorf("%w: no user name", errStartup)
	}
	return p, nil
}

// cstring splits a NUL-terminated string off b.
func cstring(b []byte) (s string, rest []byte, ok bool) {
	i := bytes.IndexByte(b, 0)
	if i < 0 {
		return "", nil, false
	}
	return string(b[:i]), b[i+1:], true
}

// encode appends p as a StartupMessage, for tests and round trips.
func (p *startupPacket) encode(dst []byte) []byte {
	start := len(dst)
	dst = append(dst, 0, 0, 0, 0)
	dst = binary.BigEndian.AppendUint32(dst, p.Version)
	for _, kv := range p.Params {
		dst = append(dst, kv.Name...)
		dst = append(dst, 0)
		dst = append(dst, kv.Value...)
		dst = append(dst, 0)
	}
	dst = append(dst, 0)
	binary.BigEndian.PutUint32(dst[start:], uint32(len(dst)-start))
	return dst
}

// protocolOptions are the "_pq_." parameters of a StartupMessage: protocol
// extensions, none of which the broker supports.
func (p *startupPacket) protocolOptions() []string {
	var out []string
	for _, kv := range p.Params {
		if strings.HasPrefix(kv.Name, "_pq_.") {
			out = append(out, kv.Name)
		}
	}
	return out
}

// decodePassword decodes a PasswordMessage ('p') read by a framer: the
// cleartext password, which for the broker is the token. The returned string
// is a secret: never log, record or wrap it into an error.
func decodePassword(msg []byte) (string, error) {
	if len(msg) < 5 || msg[0] != 'p' {
		if len(msg) > 0 {
			return "", fmt.Errorf("expected a password message, got message type %q", msg[0])
		}
		return "", errors.New("expected a password message")
	}
	body := msg[5:]
	if len(body) == 0 || body[len(body)-1] != 0 || bytes.IndexByte(body, 0) != len(body)-1 {
		return "", errors.New("malformed password message")
	}
	return string(body[:len(body)-1]), nil
}

// negotiate reads startup-phase packets until a StartupMessage: it answers
// SSLRequest (with a TLS handshake when the listener has TLS) and
// GSSENCRequest, and hands CancelRequests to the listener's cancels. It
// returns the connection to use from here on (TLS or not) and the startup
// message; nil when the connection is done (a cancel request, or an error it
// already answered and reported).
func (srv *server) negotiate(ctx context.Context, raw net.Conn) (net.Conn, *startupPacket) {
	ep := srv.ep
	conn := raw
	encrypted, gssAsked := false, false
	for {
		body, err := readStartup(conn, srv.maxMessage())
		if err != nil {
			srv.reject(conn, startupError(err, ep.Conn.HandshakeTimeout.D()))
			return nil, nil
		}
		sp, err := decodeStartup(body)
		if err != nil {
			srv.reject(conn, fatalf(codeProtocolViolation, "hoop: invalid startup packet").wrap(err))
			return nil, nil
		}
		switch sp.Kind {
		case kindCancel:
			srv.cancels.cancel(ctx, &sp.Cancel)
			return nil, nil
		case kindGSSENC, kindSSL:
			if encrypted || sp.Kind == kindGSSENC && gssAsked {
				srv.reject(conn, fatalf(codeProtocolViolation, "hoop: unexpected encryption request"))
				return nil, nil
			}
			if sp.Kind == kindGSSENC || ep.TLS == nil {
				gssAsked = gssAsked || sp.Kind == kindGSSENC
				if _, err := conn.Write([]byte{'N'}); err != nil {
					ep.Reject(raw.RemoteAddr(), err)
					return nil, nil
				}
				continue
			}
			if _, err := conn.Write([]byte{'S'}); err != nil {
				ep.Reject(raw.RemoteAddr(), err)
				return nil, nil
			}
			tc := tls.Server(raw, ep.TLS)
			if err := tc.HandshakeContext(ctx); err != nil {
				ep.Reject(raw.RemoteAddr(), fmt.Errorf("TLS handshake: %w", err))
				return nil, nil
			}
			conn, encrypted = tc, true
		case kindStartup:
			if major, minor := sp.Version>>16, sp.Version&0xffff; major != protocolMajor {
				srv.reject(conn, fatalf(codeFeatureNotSupported,
					"hoop: unsupported frontend protocol %d.%d: the broker supports 3.0", major, minor))
				return nil, nil
			}
			if ep.TLS != nil && !encrypted {
				srv.reject(conn, fatalf(codeInvalidAuthorization, "hoop: TLS is required on this connection (use sslmode=require)"))
				return nil, nil
			}
			if v := strings.ToLower(sp.Get("replication")); v != "" && v != "false" && v != "off" && v != "no" && v != "0" {
				srv.reject(conn, fatalf(codeFeatureNotSupported, "hoop: replication connections are not supported"))
				return nil, nil
			}
			return conn, sp
		}
	}
}

// startupError turns a failure to read a startup packet into the answer.
func startupError(err error, timeout time.Duration) *pgError {
	switch {
	case errors.Is(err, os.ErrDeadlineExceeded):
		return fatalf(codeProtocolViolation, "hoop: the startup did not complete within %s", timeout).wrap(err)
	case errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF):
		// Nobody to answer: the client is gone.
		return &pgError{Code: codeProtocolViolation, Message: "", Err: fmt.Errorf("incomplete startup packet: %w", err)}
	case errors.Is(err, ErrMessageTooLarge):
		return fatalf(codeProtocolViolation, "hoop: startup packet too large").wrap(err)
	}
	return fatalf(codeProtocolViolation, "hoop: invalid startup packet").wrap(err)
}

// negotiateVersion answers a StartupMessage for protocol 3.x with x > 0, or
// one with protocol options (_pq_.*), with NegotiateProtocolVersion: the
// broker speaks 3.0 and no options (protocol "Protocol Versions").
func negotiateVersion(sp *startupPacket) []byte {
	opts := sp.protocolOptions()
	if sp.Version == protocol30 && len(opts) == 0 {
		return nil
	}
	msg, _ := (&pgproto3.NegotiateProtocolVersion{NewestMinorProtocol: 0, UnrecognizedOptions: opts}).Encode(nil)
	return msg
}
