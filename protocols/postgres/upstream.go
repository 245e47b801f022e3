package postgres

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"strings"
	"time"

	"github.com/jackc/pgx/v5/pgconn"

	"github.com/hoophq/hoop/broker"
	"github.com/hoophq/hoop/config"
)

// upstream is a logged-in connection to the upstream server, hijacked from
// pgconn: from here on the relay speaks the protocol on it directly.
type upstream struct {
	conn     net.Conn
	pid      uint32
	secret   []byte
	params   map[string]string // the server's ParameterStatus values
	txStatus byte
	// addr is the server's address, for cancel requests.
	addr string
}

// clientParams are the startup parameters a client may pass through to the
// server (lower-cased; PostgreSQL setting names are case-insensitive).
var clientParams = map[string]bool{
	"client_encoding":    true,
	"datestyle":          true,
	"timezone":           true,
	"extra_float_digits": true,
	"search_path":        true,
	"intervalstyle":      true,
}

// Identity settings attached to the upstream session.
const (
	paramUser    = "hoop.user"
	paramGroups  = "hoop.groups"
	paramSession = "hoop.session"
	paramActors  = "hoop.actors"
)

// errNULInIdentity: an identity value (from token claims, where JSON allows
// \u0000) holds a NUL byte, which would cut the startup packet's value short
// and make the rest of it parameters of its own.
var errNULInIdentity = errors.New("the identity holds a NUL byte and can't be passed upstream")

// runtimeParams are the upstream startup parameters: the identity settings,
// the application name and the client's whitelisted settings. Because they
// travel in the startup packet they are the session's defaults, which RESET
// and DISCARD ALL restore.
func runtimeParams(id *broker.Identity, sessionID string, sp *startupPacket) (map[string]string, error) {
	rp := map[string]string{
		paramUser:          id.User(),
		paramGroups:        strings.Join(id.Principal.Groups, ","),
		paramSession:       sessionID,
		"application_name": "hoop",
	}
	if len(id.Actors) > 0 {
		subs := make([]string, len(id.Actors))
		for i, a := range id.Actors {
			subs[i] = a.Subject
		}
		rp[paramActors] = strings.Join(subs, ",")
	}
	for _, kv := range sp.Params {
		switch name := strings.ToLower(kv.Name); {
		case name == "application_name" && kv.Value != "":
			rp["application_name"] = kv.Value
		case clientParams[name]:
			rp[kv.Name] = kv.Value
		}
	}
	for _, v := range rp {
		if strings.IndexByte(v, 0) >= 0 {
			return nil, errNULInIdentity
		}
	}
	return rp, nil
}

// upstreamConfig builds the pgconn configuration of the connection's upstream.
// The conninfo names everything that matters explicitly, so that the broker's
// environment (PGSSLMODE, ~/.postgresql/root.crt, ~/.pgpass, ...) does not
// change it; the password is set on the parsed config and never appears in a
// string that could end up in an error.
func upstreamConfig(up *config.Upstream, database string) (*pgconn.Config, error) {
	host, port, err := net.SplitHostPort(up.Address)
	if err != nil {
		return nil, fmt.Errorf("upstream address %q: %w", up.Address, err)
	}
	mode := up.TLS
	if mode == "" {
		mode = "prefer"
	}
	kv := []string{
		"host", host,
		"port", port,
		"user", up.User,
		"dbname", database,
		"sslmode", mode,
		"sslrootcert", up.CA,
		"sslcert", "",
		"sslkey", "",
		"sslnegotiation", "postgres",
		"passfile", "",
		"min_protocol_version", "3.0",
		"max_protocol_version", "3.0",
		"target_session_attrs", "any",
	}
	var b strings.Builder
	for i := 0; i < len(kv); i += 2 {
		fmt.Fprintf(&b, "%s=%s ", kv[i], quoteConninfo(kv[i+1]))
	}
	cfg, err := pgconn.ParseConfig(b.String())
	if err != nil {
		return nil, err
	}
	cfg.Password = up.Password.Value()
	cfg.ConnectTimeout = up.ConnectTimeout.D()
	if cfg.ConnectTimeout <= 0 {
		cfg.ConnectTimeout = config.DefaultConnectTimeout
	}
	if up.ServerName != "" {
		setServerName(cfg.TLSConfig, up.ServerName)
		for _, fb := range cfg.Fallbacks {
			setServerName(fb.TLSConfig, up.ServerName)
		}
	}
	cfg.OnNotice = nil
	cfg.OnNotification = nil
	return cfg, nil
}

// setServerName overrides the name verified in (and sent for) the server's
// certificate.
func setServerName(c *tls.Config, name string) {
	if c != nil {
		c.ServerName = name
	}
}

// quoteConninfo quotes a conninfo value (libpq "Keyword/Value Connection
// Strings").
func quoteConninfo(v string) string {
	return "'" + strings.NewReplacer(`\`, `\\`, `'`, `\'`).Replace(v) + "'"
}

// dialUpstream connects and logs in to the upstream server for a session and
// hijacks the connection.
func dialUpstream(ctx context.Context, conn *config.Connection, database string, params map[string]string) (*upstream, error) {
	cfg, err := upstreamConfig(&conn.Upstream, database)
	if err != nil {
		return nil, err
	}
	cfg.RuntimeParams = params
	ctx, cancel := context.WithTimeout(ctx, cfg.ConnectTimeout+time.Second)
	defer cancel()
	pc, err := pgconn.ConnectConfig(ctx, cfg)
	if err != nil {
		return nil, err
	}
	if err := pc.SyncConn(ctx); err != nil {
		pc.Close(context.Background())
		return nil, err
	}
	hc, err := pc.Hijack()
	if err != nil {
		pc.Close(context.Background())
		return nil, err
	}
	hc.Conn.SetDeadline(time.Time{})
	return &upstream{
		conn:     hc.Conn,
		pid:      hc.PID,
		secret:   hc.SecretKey,
		params:   hc.ParameterStatuses,
		txStatus: hc.TxStatus,
		addr:     hc.Conn.RemoteAddr().String(),
	}, nil
}

// upstreamReason says why the upstream connection failed, for the client:
// the server's own error when it sent one, else the network error. It never
// holds the upstream password (redacted should pgconn ever echo it).
func upstreamReason(err error, password string) string {
	var reason string
	var pe *pgconn.PgError
	var ce *pgconn.ConnectError
	switch {
	case errors.As(err, &pe):
		reason = fmt.Sprintf("%s: %s (SQLSTATE %s)", pe.Severity, pe.Message, pe.Code)
	case errors.As(err, &ce) && ce.Unwrap() != nil:
		reason = ce.Unwrap().Error()
	default:
		reason = err.Error()
	}
	if password != "" {
		reason = strings.ReplaceAll(reason, password, "[redacted]")
	}
	return reason
}
