// Package mysql serves the MySQL client/server protocol (MySQL and MariaDB)
// through the broker: the stock mariadb and mysql clients, go-sql-driver/mysql
// and other drivers connect to the broker as if it were the server, with
// their token as the password, and the broker relays their session to the
// upstream server under the connection's own credential.
//
// # Libraries and own message types
//
// go-mysql (github.com/go-mysql-org/go-mysql) does what fits a proxy: its
// client logs in upstream (upstream.go) — mysql_native_password,
// caching_sha2_password, sha256_password and MariaDB's ed25519, TLS, the
// connection attributes that carry the identity — and its mysql package gives
// the protocol's constants, error codes and SQLSTATEs. The rest is this
// package's own small message types, one file per message as in pgproto3
// (initial_handshake.go, com_query.go, com_stmt_execute.go, ...), because
// go-mysql's server side is a whole server, not a relay: it answers commands
// from a Handler by re-encoding decoded results, keeps its own credential
// store and connection ids, and reads packets of any size. Here packets are
// framed with a size limit (packet.go), relayed as they came, and decoded
// only to be recorded, by bounds-checked decoders (wire.go) that are fuzzed.
// Statements are classified with the TiDB parser (the version go-mysql
// pins), and a small lexer where it gives up (guard.go, lexer.go).
//
// # Login
//
// The broker greets the client first (initial_handshake.go) with a thread id
// of its own and mysql_native_password, answers an SSLRequest with a TLS
// handshake, and reads the handshake response. Without TLS on a listener
// that has it the client is refused before it is asked for anything secret.
// It then switches the client to mysql_clear_password (auth_switch.go) — the
// token travels as the password, inside TLS, as with cloud IAM database
// authentication — unless the client already sent it that way. A failed
// token is recorded as a denied session (Endpoint.Deny) and answered with
// ERR 1045. The broker then opens the session, logs in upstream and sends OK.
//
// The capabilities the broker offers (initial_handshake.go) are those it can
// relay verbatim, and the upstream handshake mirrors what the client chose:
// neither leg negotiates CLIENT_DEPRECATE_EOF, compression, session tracking
// or query attributes, so both speak the one result format every server
// speaks.
//
// # Identity downstream
//
// The upstream handshake carries hoop_user, hoop_groups, hoop_session and
// hoop_actors as connection attributes, which the server shows in
// performance_schema.session_connect_attrs and which nothing in the session
// can change. Right after login the broker also sets the user variables
// @hoop_user, @hoop_groups, @hoop_session and @hoop_actors (and sets them
// again after COM_RESET_CONNECTION). A statement that may assign them — SET,
// :=, SELECT ... INTO, LOAD DATA into them, dynamic SQL from a variable, or
// any mention the parser can't account for as a plain read — is flagged
// (session.Command.TouchesIdentity) and refused by the broker's policy.
// Stored routines are not inspected: the attributes are the authority.
//
// # Commands
//
// The classic protocol is half-duplex, so one goroutine serves a connection
// (commands.go): it reads a command, records it through the broker's policy
// (nothing is forwarded before Session.Command returns), forwards it, and
// relays the answer packet by packet (results.go), flushing when the
// upstream has nothing more buffered. Results are recorded one per result
// set, capped by the connection's recording limits: columns, rows (text and
// binary protocol), affected rows, last insert id, warnings, errors with
// their code and SQLSTATE. Prepared statements (com_stmt_*.go) are recorded
// at execution with their text and decoded parameters (long data included);
// cursors' rows are recorded at COM_STMT_FETCH. COM_CHANGE_USER is refused:
// a session keeps the identity that opened it. LOAD DATA LOCAL INFILE is
// refused unless the connection allows it (mysql.local_infile); then the
// file's size and first bytes are recorded.
//
// KILL: the mysql client's Ctrl-C opens a new connection and sends
// KILL QUERY with the thread id from its greeting — the broker's id. The
// broker maps it to the upstream's thread (threads.go, kill.go) when the
// killer is the same user, and refuses ids of other users' sessions, so
// that the shared upstream login does not let one user kill another's work.
//
// # Errors
//
// The package never logs. Clients dropped before they present a token are
// reported with Endpoint.Reject; afterwards the session ends with the reason.
// Whatever the broker refuses it answers with a native ERR packet: a policy
// denial is ERR 1227, a command that can't be recorded is never forwarded
// (ERR 1105) and ends the session, an oversize packet (max_message_size) is
// ERR 1153 and a malformed one ERR 1835, after which the connection closes;
// the listener keeps serving.
package mysql
