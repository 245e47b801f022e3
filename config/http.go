package config

import (
	"net/http"
	"strings"
	"time"
)

func init() { protocols["http"] = (*validator).http }

// HTTP configures an http connection: an internal HTTP service reached through
// the broker. Callers send Authorization: Bearer <token>; the broker removes it,
// adds Credential, and sends the caller's identity as X-Hoop-User plus a signed
// assertion (AssertionHeader) that the service verifies with the broker's
// public key. upstream.tls "disable" reaches the service over plain http; any
// other mode uses https (verify-ca and verify-full against upstream.ca).
type HTTP struct {
	// Credential is what the broker sends upstream in place of the caller's
	// token. Default: none.
	Credential HTTPCredential `yaml:"credential"`
	// AssertionHeader is the request header carrying the signed identity
	// assertion (an EdDSA JWT). Default X-Hoop-Assertion.
	AssertionHeader string `yaml:"assertion_header"`
	// AssertionTTL is how long an assertion is valid. Default 1m.
	AssertionTTL Duration `yaml:"assertion_ttl"`
	// RedactHeaders are more header names whose values are never recorded;
	// Authorization, Cookie, Set-Cookie, Proxy-Authorization and the
	// credential's header always are.
	RedactHeaders []string `yaml:"redact_headers"`
	// MaxBody is how much of each request and response body is recorded.
	// Bodies flow through whole; the event says when the cap cut them.
	// Default 64KiB.
	MaxBody ByteSize `yaml:"max_body"`
}

// HTTPCredential is the upstream credential of an http connection.
type HTTPCredential struct {
	// Type is none, bearer (Authorization: Bearer Token), basic
	// (upstream.user and upstream.password) or header (Header: Token).
	Type string `yaml:"type"`
	// Token is the bearer token or the header value; use a secret reference.
	Token Secret `yaml:"token"`
	// Header names the header of type header (e.g. X-Api-Key).
	Header string `yaml:"header"`
}

// Defaults of http connections.
const (
	DefaultAssertionHeader = "X-Hoop-Assertion"
	DefaultAssertionTTL    = time.Minute
	DefaultMaxBody         = 64 << 10
)

// http validates the settings of an http connection.
func (v *validator) http(conn *Connection, path string) {
	h := &conn.HTTP
	p := path + ".http"
	c := &h.Credential
	switch c.Type {
	case "", "none":
		c.Type = "none"
	case "bearer":
		v.secret(&c.Token, p+".credential.token", true)
	case "basic":
		if conn.Upstream.User == "" {
			v.errorf(path+".upstream.user", "required with credential type basic")
		}
		if conn.Upstream.Password.IsZero() {
			v.errorf(path+".upstream.password", "required with credential type basic")
		}
	case "header":
		v.secret(&c.Token, p+".credential.token", true)
		if !validHeaderName(c.Header) {
			v.errorf(p+".credential.header", "want a header name (e.g. X-Api-Key), got %q", c.Header)
		} else if reservedHeader(c.Header) {
			v.errorf(p+".credential.header", "%s is set by the broker", c.Header)
		}
	default:
		v.errorf(p+".credential.type", "must be none, bearer, basic or header, got %q", c.Type)
	}
	if h.AssertionHeader == "" {
		h.AssertionHeader = DefaultAssertionHeader
	} else if !validHeaderName(h.AssertionHeader) {
		v.errorf(p+".assertion_header", "want a header name, got %q", h.AssertionHeader)
	}
	if h.AssertionTTL == 0 {
		h.AssertionTTL = Duration(DefaultAssertionTTL)
	} else if h.AssertionTTL.D() < time.Second || h.AssertionTTL.D() > time.Hour {
		v.errorf(p+".assertion_ttl", "must be between 1s and 1h")
	}
	for i, n := range h.RedactHeaders {
		if !validHeaderName(n) {
			v.errorf(p+".redact_headers", "entry %d: want a header name, got %q", i, n)
		}
	}
	if h.MaxBody == 0 {
		h.MaxBody = DefaultMaxBody
	}
}

// validHeaderName reports whether s is an HTTP field name (RFC 9110 token).
func validHeaderName(s string) bool {
	if s == "" {
		return false
	}
	for _, r := range s {
		if r > 0x7e || r <= ' ' || strings.ContainsRune(`"(),/:;<=>?@[\]{}`, r) {
			return false
		}
	}
	return true
}

// reservedHeader says whether the broker owns a header name.
func reservedHeader(name string) bool {
	n := http.CanonicalHeaderKey(name)
	return n == "Authorization" || strings.HasPrefix(n, "X-Hoop-") || strings.HasPrefix(n, "Impersonate-")
}
