package config

import (
	"fmt"
	"net"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"

	"github.com/goccy/go-yaml"
	"github.com/goccy/go-yaml/ast"
)

// protocols maps each protocol the broker serves to the validation of its own
// settings, registered by the protocol's file in this package (postgres.go, ...).
var protocols = map[string]func(v *validator, conn *Connection, path string){}

// Protocols lists the protocols the broker serves, sorted.
func Protocols() []string {
	out := make([]string, 0, len(protocols))
	for p := range protocols {
		out = append(out, p)
	}
	sort.Strings(out)
	return out
}

type validator struct {
	cfg  *Config
	file *ast.File
	name string
	errs Errors
	// client: resolve only the admin tokens and read no other file (LoadClient).
	client bool
}

// line finds the line of the YAML path, or of its nearest present parent.
func (v *validator) line(path string) int {
	for p := path; p != "$" && p != ""; p = parentPath(p) {
		yp, err := yaml.PathString(p)
		if err != nil {
			continue
		}
		if n, err := yp.FilterFile(v.file); err == nil && n != nil {
			return keyLine(v.file, p, n)
		}
	}
	return 0
}

// keyLine prefers the line of the key over the line of its value, which differs
// for block mappings and sequences.
func keyLine(f *ast.File, path string, n ast.Node) int {
	l := nodeLine(n)
	parent := parentPath(path)
	yp, err := yaml.PathString(parent)
	if err != nil {
		return l
	}
	pn, err := yp.FilterFile(f)
	if err != nil {
		return l
	}
	if m, ok := pn.(*ast.MappingNode); ok {
		key := path[strings.LastIndex(path, ".")+1:]
		for _, kv := range m.Values {
			if kv.Key.String() == key {
				return nodeLine(kv.Key)
			}
		}
	}
	return l
}

func parentPath(p string) string {
	if strings.HasSuffix(p, "]") {
		return p[:strings.LastIndex(p, "[")]
	}
	if i := strings.LastIndex(p, "."); i > 0 {
		return p[:i]
	}
	return "$"
}

func (v *validator) errorf(path, format string, args ...any) {
	v.errs = append(v.errs, &Error{File: v.name, Line: v.line(path), Field: fieldPath(path), Msg: fmt.Sprintf(format, args...)})
}

func (v *validator) run() {
	c := v.cfg
	b := &c.Broker
	if b.ID == "" {
		b.ID, _ = os.Hostname()
	}
	if b.DataDir == "" {
		v.errorf("$.broker.data_dir", "required")
	} else {
		b.DataDir = v.relative(b.DataDir)
	}
	switch b.Durability {
	case "":
		b.Durability = DurabilityWrite
	case DurabilityWrite, DurabilityFsync:
	default:
		v.errorf("$.broker.durability", "must be %q or %q, got %q", DurabilityWrite, DurabilityFsync, b.Durability)
	}
	if b.FsyncInterval == 0 {
		b.FsyncInterval = Duration(DefaultFsyncInterval)
	}
	switch b.LogLevel {
	case "":
		b.LogLevel = "info"
	case "debug", "info", "warn", "error":
	default:
		v.errorf("$.broker.log_level", "must be debug, info, warn or error, got %q", b.LogLevel)
	}

	if c.Admin.Listen == "" {
		c.Admin.Listen = DefaultAdminListen
	} else if _, _, err := net.SplitHostPort(c.Admin.Listen); err != nil {
		v.errorf("$.admin.listen", "want host:port, got %q", c.Admin.Listen)
	}
	if len(c.Admin.Tokens) == 0 {
		v.errorf("$.admin.tokens", "at least one admin token is required (use ${env:NAME} or ${file:PATH})")
	}
	for i := range c.Admin.Tokens {
		v.secret(&c.Admin.Tokens[i], fmt.Sprintf("$.admin.tokens[%d]", i), true)
	}

	id := &c.Identity
	if id.Issuer == "" {
		id.Issuer = DefaultIssuer
	}
	if id.MaxTokenTTL == 0 {
		id.MaxTokenTTL = Duration(DefaultMaxTokenTTL)
	}
	seenProv := map[string]bool{}
	for i, p := range id.Providers {
		path := fmt.Sprintf("$.identity.providers[%d]", i)
		if p == nil {
			v.errorf(path, "empty provider")
			continue
		}
		if p.Name == "" {
			v.errorf(path+".name", "required")
		} else if seenProv[p.Name] {
			v.errorf(path+".name", "duplicate provider name %q", p.Name)
		}
		seenProv[p.Name] = true
		if !strings.HasPrefix(p.Issuer, "https://") && !strings.HasPrefix(p.Issuer, "http://") {
			v.errorf(path+".issuer", "want an issuer URL (https://...), got %q", p.Issuer)
		}
		if p.Issuer == id.Issuer {
			v.errorf(path+".issuer", "equals identity.issuer %q, the broker's own issuer", id.Issuer)
		}
		if p.Audience == "" {
			v.errorf(path+".audience", "required (the client ID registered for the broker)")
		}
		if p.GroupsClaim == "" {
			p.GroupsClaim = "groups"
		}
		if p.UsernameClaim == "" {
			p.UsernameClaim = "email"
		}
	}

	if len(c.Connections) == 0 {
		v.errorf("$.connections", "at least one connection is required")
	}
	names := map[string]bool{}
	listens := map[string]string{}
	for i, conn := range c.Connections {
		path := fmt.Sprintf("$.connections[%d]", i)
		if conn == nil {
			v.errorf(path, "empty connection")
			continue
		}
		conn.Line = v.line(path)
		v.connection(conn, path, names, listens)
	}
}

var namePattern = regexp.MustCompile(`^[a-z0-9][a-z0-9_.-]{0,62}$`)

func (v *validator) connection(conn *Connection, path string, names map[string]bool, listens map[string]string) {
	switch {
	case conn.Name == "":
		v.errorf(path+".name", "required")
	case !namePattern.MatchString(conn.Name):
		v.errorf(path+".name", "%q: use lower-case letters, digits, '-', '_' and '.'", conn.Name)
	case names[conn.Name]:
		v.errorf(path+".name", "duplicate connection name %q", conn.Name)
	}
	names[conn.Name] = true

	validateProtocol, known := protocols[conn.Protocol]
	if !known {
		v.errorf(path+".protocol", "must be one of %s, got %q", strings.Join(Protocols(), ", "), conn.Protocol)
	}

	if _, _, err := net.SplitHostPort(conn.Listen); err != nil {
		v.errorf(path+".listen", "want host:port, got %q", conn.Listen)
	} else if other, dup := listens[conn.Listen]; dup {
		v.errorf(path+".listen", "%s is already used by connection %q", conn.Listen, other)
	}
	listens[conn.Listen] = conn.Name

	switch conn.TLS.Mode {
	case "":
		conn.TLS.Mode = "on"
	case "on", "off":
	default:
		v.errorf(path+".tls.mode", "must be on or off, got %q", conn.TLS.Mode)
	}
	if (conn.TLS.Cert == "") != (conn.TLS.Key == "") {
		v.errorf(path+".tls", "cert and key go together: set both, or neither for a generated certificate")
	}
	conn.TLS.Cert = v.file_(conn.TLS.Cert, path+".tls.cert")
	conn.TLS.Key = v.file_(conn.TLS.Key, path+".tls.key")

	up := &conn.Upstream
	if _, _, err := net.SplitHostPort(up.Address); err != nil {
		v.errorf(path+".upstream.address", "want host:port, got %q", up.Address)
	}
	v.secret(&up.Password, path+".upstream.password", false)
	switch up.TLS {
	case "":
		up.TLS = "prefer"
	case "disable", "prefer", "require", "verify-ca", "verify-full":
	default:
		v.errorf(path+".upstream.tls", "must be disable, prefer, require, verify-ca or verify-full, got %q", up.TLS)
	}
	if (up.TLS == "verify-ca" || up.TLS == "verify-full") && up.CA == "" {
		v.errorf(path+".upstream.ca", "required with tls %s", up.TLS)
	}
	up.CA = v.file_(up.CA, path+".upstream.ca")
	if up.ConnectTimeout == 0 {
		up.ConnectTimeout = Duration(DefaultConnectTimeout)
	}

	if len(conn.Access.Groups) == 0 {
		v.errorf(path+".access.groups", "at least one group is required (who may use %q?)", conn.Name)
	}
	switch conn.Durability {
	case "", DurabilityWrite, DurabilityFsync:
	default:
		v.errorf(path+".durability", "must be %q or %q, got %q", DurabilityWrite, DurabilityFsync, conn.Durability)
	}
	if conn.Recording.MaxRows == 0 {
		conn.Recording.MaxRows = DefaultMaxRows
	} else if conn.Recording.MaxRows < 0 {
		v.errorf(path+".recording.max_rows", "must be positive")
	}
	if conn.Recording.MaxBytes == 0 {
		conn.Recording.MaxBytes = DefaultMaxBytes
	}
	if conn.MaxMessageSize == 0 {
		conn.MaxMessageSize = DefaultMaxMessageSize
	} else if conn.MaxMessageSize < 1024 {
		v.errorf(path+".max_message_size", "must be at least 1KiB")
	}
	if conn.HandshakeTimeout == 0 {
		conn.HandshakeTimeout = Duration(DefaultHandshakeTimeout)
	}
	if known {
		validateProtocol(v, conn, path)
	}
}

// relative resolves a path relative to the configuration file's directory.
func (v *validator) relative(p string) string {
	if p == "" || filepath.IsAbs(p) {
		return p
	}
	return filepath.Join(filepath.Dir(v.name), p)
}

// file_ resolves a path and checks that it can be read.
func (v *validator) file_(p, path string) string {
	if p == "" {
		return ""
	}
	p = v.relative(p)
	if v.client {
		return p
	}
	if _, err := os.Stat(p); err != nil {
		v.errorf(path, "cannot read %s: %v", p, unwrapPathError(err))
	}
	return p
}

var secretRef = regexp.MustCompile(`^\$\{(env|file):([^}]+)\}$`)

// secret resolves a ${env:NAME} or ${file:PATH} reference. Inline values are
// refused so that example files never teach users to paste secrets.
func (v *validator) secret(s *Secret, path string, required bool) {
	if s.ref == "" {
		if required {
			v.errorf(path, "required")
		}
		return
	}
	if s.ref == "(inline)" {
		return // set programmatically by NewSecret
	}
	if v.client && !strings.HasPrefix(path, "$.admin.") {
		return // a client of the broker needs only the admin tokens
	}
	m := secretRef.FindStringSubmatch(s.ref)
	if m == nil {
		v.errorf(path, "secrets must be references, ${env:NAME} or ${file:PATH}; inline values are not accepted")
		return
	}
	switch m[1] {
	case "env":
		val, ok := os.LookupEnv(m[2])
		if !ok || val == "" {
			v.errorf(path, "environment variable %s is not set", m[2])
			return
		}
		s.value = val
	case "file":
		b, err := os.ReadFile(v.relative(m[2]))
		if err != nil {
			v.errorf(path, "cannot read secret file %s: %v", m[2], unwrapPathError(err))
			return
		}
		s.value = strings.TrimRight(string(b), "\r\n")
		if s.value == "" {
			v.errorf(path, "secret file %s is empty", m[2])
		}
	}
}

func unwrapPathError(err error) error {
	if pe, ok := err.(*os.PathError); ok {
		return pe.Err
	}
	return err
}
