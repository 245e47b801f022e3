// Package postgres serves the PostgreSQL wire protocol (version 3.0) through
// the broker: psql, pgx, libpq and JDBC clients connect to the broker as if it
// were the server, with their token as the password, and the broker relays
// their session to the upstream server under the connection's own credential.
//
// # Startup
//
// A client's first packets have no type byte (startup.go): SSLRequest is
// answered 'S' and followed by a TLS handshake when the listener has TLS,
// GSSENCRequest is refused, CancelRequest is forwarded (cancel.go), and the
// StartupMessage names the user and database. Without TLS on a listener that
// has it, the client is refused before it is asked for a password. The broker
// then asks for a cleartext password — the token — and authenticates it
// (auth.go), opens the recorded session, connects upstream with pgconn and
// hijacks the connection (upstream.go). The client gets AuthenticationOk, the
// upstream's ParameterStatus messages and a BackendKeyData made up by the
// broker, so that its cancel requests come back here.
//
// # Identity downstream
//
// The upstream startup packet sets hoop.user, hoop.groups, hoop.session and
// hoop.actors, so triggers and row-level policies can read
// current_setting('hoop.user'). Because they are startup parameters, RESET and
// DISCARD restore them; statements that would change them are flagged by a
// small lexer (identity.go) and refused by the broker's policy.
//
// # Relay
//
// One goroutine per direction (relay.go). Messages are framed by a small reader
// (framing.go) and forwarded as raw bytes through buffered writers, flushed
// when the reader has nothing more buffered, so pipelined messages travel in
// one write. The client-to-server side (frontend.go) records each command
// before forwarding it: a simple Query at once, the extended protocol at
// Execute, with the statement's text and its decoded parameters (values.go).
// The server-to-client side (backend.go) decodes what it needs to attribute
// responses to commands — the queue of expected answers is in pending.go — and
// records results capped by the connection's recording limits (result.go).
// The prepared statements and portals are tracked from the server's answers
// (statements.go), so an execute records the text that actually runs even
// when earlier messages failed. DataRows pass one seam (backend.go,
// rowRewriter) where masking will rewrite them.
//
// A command the policy refuses (refuse.go) is answered in order: what is
// queued upstream is answered first, then the broker's error, then — in the
// extended protocol — the client's messages are skipped to Sync, as the
// server does after an error.
//
// # Errors
//
// The package never logs. Clients dropped before they authenticate are
// reported with Endpoint.Reject; afterwards the session ends with the reason.
// Whatever the broker refuses, it refuses with a native ErrorResponse
// (errors.go): a command the policy denies gets ERROR 42501, a command that
// can't be recorded is never forwarded and ends the session with FATAL 58030.
package postgres
