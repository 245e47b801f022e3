// Package config is the broker's YAML configuration: its schema, strict decoding
// (unknown keys are errors), validation whose every error names the file, line and
// field, and secret references (${env:NAME}, ${file:PATH}) resolved at load time so
// that secrets are never written inline.
//
// Each field carries a sentence: the fields are the user's documentation, and the
// README's configuration reference is written from them.
package config

import "time"

// Config is the whole broker configuration file.
type Config struct {
	// Broker holds settings of the broker process itself.
	Broker Broker `yaml:"broker"`
	// Admin is the admin API used by hoopctl (sessions, replay, verify, token issue).
	Admin Admin `yaml:"admin"`
	// Identity configures who may connect: the broker's own tokens and OIDC providers.
	Identity Identity `yaml:"identity"`
	// Connections are the upstream targets the broker serves, one listener each.
	Connections []*Connection `yaml:"connections"`

	// File is the path the configuration was loaded from (not a YAML key).
	File string `yaml:"-"`
}

// Broker holds settings of the broker process.
type Broker struct {
	// ID names this broker in recordings; defaults to the host name.
	ID string `yaml:"id"`
	// DataDir holds the event store, the broker's signing key and generated TLS
	// certificates. Required.
	DataDir string `yaml:"data_dir"`
	// Durability is how a command event is made durable before its bytes go
	// upstream: "write" (default) writes it through to the operating system, which
	// survives a crash of the broker, and fsyncs every FsyncInterval; "fsync" fsyncs
	// it first, which also survives power loss.
	Durability Durability `yaml:"durability"`
	// FsyncInterval bounds how long written events wait for an fsync under
	// durability "write". Default 100ms.
	FsyncInterval Duration `yaml:"fsync_interval"`
	// LogLevel is debug, info, warn or error. Default info.
	LogLevel string `yaml:"log_level"`
}

// Durability is the level at which a command is recorded before it is forwarded.
type Durability string

// Durability levels.
const (
	DurabilityWrite Durability = "write"
	DurabilityFsync Durability = "fsync"
)

// Admin configures the admin API.
type Admin struct {
	// Listen is the admin API's address. Default 127.0.0.1:8009 (loopback only).
	Listen string `yaml:"listen"`
	// Tokens are the bearer tokens accepted by the admin API; use secret
	// references. At least one is required.
	Tokens []Secret `yaml:"tokens"`
}

// Identity configures token verification.
type Identity struct {
	// Issuer is the "iss" of tokens the broker signs with its own key
	// (hoopctl token issue). Default "hoop".
	Issuer string `yaml:"issuer"`
	// MaxTokenTTL caps the lifetime of broker-issued tokens. Default 24h.
	MaxTokenTTL Duration `yaml:"max_token_ttl"`
	// Providers are OIDC identity providers whose ID/access tokens are accepted.
	Providers []*Provider `yaml:"providers"`
}

// Provider is an OIDC identity provider, found by discovery.
type Provider struct {
	// Name identifies the provider in logs and recordings.
	Name string `yaml:"name"`
	// Issuer is the provider's issuer URL; its /.well-known/openid-configuration
	// and JWKS are fetched from there.
	Issuer string `yaml:"issuer"`
	// Audience is the expected "aud" (the client ID registered for the broker).
	Audience string `yaml:"audience"`
	// GroupsClaim is the claim holding the user's groups; a dotted path reaches
	// into nested objects (realm_access.roles). Default "groups".
	GroupsClaim string `yaml:"groups_claim"`
	// UsernameClaim is the claim used as the user's name. Default "email", falling
	// back to "sub".
	UsernameClaim string `yaml:"username_claim"`
}

// Connection is one upstream target and the listener that serves it.
type Connection struct {
	// Name identifies the connection in recordings, access rules and the CLI.
	Name string `yaml:"name"`
	// Protocol is the wire protocol: postgres.
	Protocol string `yaml:"protocol"`
	// Listen is the broker's address for this connection (host:port).
	Listen string `yaml:"listen"`
	// TLS configures the client-facing listener.
	TLS ListenerTLS `yaml:"tls"`
	// Upstream is the target and the credential the broker uses; clients never see it.
	Upstream Upstream `yaml:"upstream"`
	// Access says who may use the connection.
	Access Access `yaml:"access"`
	// Recording bounds what is kept of each result.
	Recording Recording `yaml:"recording"`
	// Durability overrides the broker's durability for this connection.
	Durability Durability `yaml:"durability"`
	// MaxMessageSize is the largest protocol message accepted from a client.
	// Default 64MiB.
	MaxMessageSize ByteSize `yaml:"max_message_size"`
	// HandshakeTimeout bounds how long a client may take to start up and
	// authenticate. Default 10s.
	HandshakeTimeout Duration `yaml:"handshake_timeout"`
	// HTTP holds the settings of an http connection: the upstream credential and the identity assertion.
	HTTP HTTP `yaml:"http"`
	// Kube holds the settings of a kube connection: the API server credential that impersonates callers.
	Kube Kube `yaml:"kube"`
	// SSH holds the settings of an ssh connection: the broker's host key, the upstream key and host key, and the keys and CAs bound to identities.
	SSH SSH `yaml:"ssh"`
	// MySQL holds the settings of a mysql connection: LOAD DATA LOCAL INFILE and the version announced to clients.
	MySQL MySQL `yaml:"mysql"`

	// Line is the line of the connection in the file (not a YAML key).
	Line int `yaml:"-"`
}

// ListenerTLS configures TLS on a client-facing listener.
type ListenerTLS struct {
	// Mode is "on" (default: TLS offered, and clear-text secrets are refused without
	// it) or "off" (plaintext, only for loopback or an already-encrypted network).
	Mode string `yaml:"mode"`
	// Cert and Key are PEM files. When both are empty, a self-signed certificate is
	// generated into the data dir on first start.
	Cert string `yaml:"cert"`
	Key  string `yaml:"key"`
}

// Upstream is a connection's target.
type Upstream struct {
	// Address is host:port of the upstream server.
	Address string `yaml:"address"`
	// User is the upstream login.
	User string `yaml:"user"`
	// Password is the upstream password; use a secret reference.
	Password Secret `yaml:"password"`
	// Database is the database to connect to (Postgres, MySQL).
	Database string `yaml:"database"`
	// TLS is the upstream TLS mode: disable, prefer, require, verify-ca or
	// verify-full (libpq's sslmode). Default prefer.
	TLS string `yaml:"tls"`
	// CA is a PEM file of the CA to verify the upstream against (verify-ca,
	// verify-full).
	CA string `yaml:"ca"`
	// ServerName overrides the name verified in the upstream certificate.
	ServerName string `yaml:"server_name"`
	// ConnectTimeout bounds the upstream dial and login. Default 10s.
	ConnectTimeout Duration `yaml:"connect_timeout"`
}

// Access lists who may use a connection.
type Access struct {
	// Groups may use the connection. A caller needs at least one of them.
	Groups []string `yaml:"groups"`
}

// Recording bounds what is stored of each result.
type Recording struct {
	// MaxRows is the number of rows kept per result. Default 1000; the event says
	// when the cap cut it.
	MaxRows int `yaml:"max_rows"`
	// MaxBytes is the number of bytes of row data kept per result. Default 1MiB.
	MaxBytes ByteSize `yaml:"max_bytes"`
}

// Defaults.
const (
	DefaultAdminListen      = "127.0.0.1:8009"
	DefaultIssuer           = "hoop"
	DefaultMaxTokenTTL      = 24 * time.Hour
	DefaultFsyncInterval    = 100 * time.Millisecond
	DefaultMaxRows          = 1000
	DefaultMaxBytes         = 1 << 20
	DefaultMaxMessageSize   = 64 << 20
	DefaultHandshakeTimeout = 10 * time.Second
	DefaultConnectTimeout   = 10 * time.Second
)

// EffectiveDurability is the connection's durability, falling back to the broker's.
func (c *Config) EffectiveDurability(conn *Connection) Durability {
	if conn != nil && conn.Durability != "" {
		return conn.Durability
	}
	return c.Broker.Durability
}

// Connection returns the connection called name, or nil.
func (c *Config) Connection(name string) *Connection {
	for _, conn := range c.Connections {
		if conn.Name == name {
			return conn
		}
	}
	return nil
}
