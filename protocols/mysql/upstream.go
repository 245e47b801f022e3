package mysql

import (
	"context"
	"crypto/tls"
	"encoding/hex"
	"fmt"
	"net"
	"strings"
	"time"

	"github.com/go-mysql-org/go-mysql/client"
	gm "github.com/go-mysql-org/go-mysql/mysql"
	"github.com/pingcap/tidb/pkg/parser/charset"

	"github.com/hoophq/hoop/broker"
	"github.com/hoophq/hoop/config"
)

// upstreamReadLimit bounds a packet from the upstream: MySQL's own ceiling
// for max_allowed_packet.
const upstreamReadLimit = 1 << 30

// identity is what the broker attaches to the upstream session: in the
// handshake's connection attributes (performance_schema.session_connect_attrs)
// and as the user variables @hoop_user, @hoop_groups, @hoop_session and
// @hoop_actors.
type identity struct {
	User, Groups, Session, Actors string
}

func (id identity) attrs() map[string]string {
	return map[string]string{
		"_client_name": "hoop",
		"program_name": "hoop",
		"hoop_user":    id.User,
		"hoop_groups":  id.Groups,
		"hoop_session": id.Session,
		"hoop_actors":  id.Actors,
	}
}

// setStatement sets the identity variables. The values are hex literals
// converted to utf8mb4, so that no sql_mode (NO_BACKSLASH_ESCAPES, ANSI_QUOTES)
// and no value can change how the statement parses.
func (id identity) setStatement() string {
	lit := func(s string) string {
		if s == "" {
			return "''"
		}
		return "CONVERT(X'" + hex.EncodeToString([]byte(s)) + "' USING utf8mb4)"
	}
	return fmt.Sprintf("SET @hoop_user = %s, @hoop_groups = %s, @hoop_session = %s, @hoop_actors = %s",
		lit(id.User), lit(id.Groups), lit(id.Session), lit(id.Actors))
}

// upstream is the broker's connection to the server, logged in. go-mysql did
// the handshake and authentication; the relay then reads and writes packets
// on the connection itself.
type upstream struct {
	nc       net.Conn
	r        *packetReader
	w        *packetWriter
	threadID uint32
	version  string
	tls      bool
}

// dialOptions are what the client negotiated and the upstream must match.
type dialOptions struct {
	Capabilities uint32 // the capabilities negotiated with the client
	Charset      byte
	Database     string
	LocalInfile  bool
	Identity     identity
}

// mirroredCapabilities are client capabilities passed on to the upstream
// handshake, so that the server answers in the form the client expects.
var mirroredCapabilities = []uint32{
	gm.CLIENT_FOUND_ROWS, gm.CLIENT_IGNORE_SPACE, gm.CLIENT_MULTI_STATEMENTS,
	gm.CLIENT_MULTI_RESULTS, gm.CLIENT_PS_MULTI_RESULTS,
}

// dialUpstream connects and logs in with the connection's credential, then
// sets the identity variables. Under upstream.tls prefer, a server that
// offers no TLS is logged in to in plaintext, as libpq does.
func dialUpstream(ctx context.Context, up *config.Upstream, o dialOptions) (*upstream, error) {
	tlsCfg, fallback, err := broker.UpstreamTLS(up)
	if err != nil {
		return nil, err
	}
	u, err := login(ctx, up, o, tlsCfg)
	if err != nil && fallback && strings.Contains(err.Error(), "does not support TLS") {
		u, err = login(ctx, up, o, nil)
	}
	return u, err
}

func login(ctx context.Context, up *config.Upstream, o dialOptions, tlsCfg *tls.Config) (*upstream, error) {
	deadline := time.Now().Add(time.Duration(up.ConnectTimeout))
	var raw net.Conn
	dial := func(ctx context.Context, network, addr string) (net.Conn, error) {
		d := net.Dialer{Deadline: deadline}
		c, err := d.DialContext(ctx, network, addr)
		if err != nil {
			return nil, err
		}
		c.SetDeadline(deadline) // the handshake and login, which go-mysql does not bound
		raw = c
		return c, nil
	}
	db := o.Database
	if db == "" {
		db = up.Database
	}
	configure := func(c *client.Conn) error {
		if tlsCfg != nil {
			c.SetTLSConfig(tlsCfg)
		}
		c.SetAttributes(o.Identity.attrs())
		// The relay speaks one result format, the one every server speaks.
		c.UnsetCapability(gm.CLIENT_DEPRECATE_EOF)
		c.UnsetCapability(gm.CLIENT_QUERY_ATTRIBUTES)
		for _, f := range mirroredCapabilities {
			if o.Capabilities&f != 0 {
				c.SetCapability(f)
			} else {
				c.UnsetCapability(f)
			}
		}
		if o.LocalInfile && o.Capabilities&gm.CLIENT_LOCAL_FILES != 0 {
			c.SetCapability(gm.CLIENT_LOCAL_FILES)
		} else {
			c.UnsetCapability(gm.CLIENT_LOCAL_FILES)
		}
		name := "utf8mb4_general_ci"
		if coll, err := charset.GetCollationByID(int(o.Charset)); err == nil {
			name = coll.Name
		}
		return c.SetCollation(name)
	}
	gc, err := client.ConnectWithDialer(ctx, "tcp", up.Address, up.User, up.Password.Value(), db, dial, configure)
	if err != nil {
		if raw != nil {
			raw.Close()
		}
		return nil, fmt.Errorf("upstream %s: %s", up.Address, redact(err.Error(), up.Password.Value()))
	}
	if _, err := gc.Execute(o.Identity.setStatement()); err != nil {
		gc.Close()
		return nil, fmt.Errorf("upstream %s: setting the identity variables: %s", up.Address, redact(err.Error(), up.Password.Value()))
	}
	// From here on the relay owns the connection: go-mysql's reader holds no
	// bytes, because the server sends nothing it was not asked for.
	nc := gc.Conn.Conn
	nc.SetDeadline(time.Time{})
	return &upstream{
		nc:       nc,
		r:        newPacketReader(nc, upstreamReadLimit),
		w:        newPacketWriter(nc),
		threadID: gc.GetConnectionID(),
		version:  gc.GetServerVersion(),
		tls:      tlsCfg != nil,
	}, nil
}

// redact removes a secret from a message.
func redact(msg, secret string) string {
	if secret == "" {
		return msg
	}
	return strings.ReplaceAll(msg, secret, "[redacted]")
}

func (u *upstream) close() error { return u.nc.Close() }
