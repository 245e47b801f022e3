package http

import (
	"encoding/base64"
	"encoding/json"
	"net/http"
	"time"

	"github.com/hoophq/hoop/config"
	"github.com/hoophq/hoop/session"
)

// Headers the broker sets on requests to internal HTTP services.
const (
	// HeaderUser is the caller's user name.
	HeaderUser = "X-Hoop-User"
	// HeaderSession is the recorded session's id.
	HeaderSession = "X-Hoop-Session"
)

// Plain is the Dialect of internal HTTP services: the connection's credential
// upstream, the caller's identity as X-Hoop-User and a signed assertion.
type Plain struct {
	cred      config.HTTPCredential
	user      string // basic auth
	password  string
	assertion string // header name
	ttl       time.Duration
}

var _ Dialect = (*Plain)(nil)

// NewPlain returns the dialect of an http connection.
func NewPlain(conn *config.Connection) *Plain {
	return &Plain{
		cred:      conn.HTTP.Credential,
		user:      conn.Upstream.User,
		password:  conn.Upstream.Password.Value(),
		assertion: http.CanonicalHeaderKey(conn.HTTP.AssertionHeader),
		ttl:       conn.HTTP.AssertionTTL.D(),
	}
}

// Group is "": a session per client connection.
func (*Plain) Group(*http.Request) string { return "" }

// Reserved refuses the identity headers and the credential's header.
func (d *Plain) Reserved(h http.Header) string {
	if n := ReservedPrefix(h, "X-Hoop-", "Impersonate-"); n != "" {
		return n
	}
	for _, n := range []string{d.assertion, d.cred.Header} {
		if n != "" && len(h.Values(n)) > 0 {
			return http.CanonicalHeaderKey(n)
		}
	}
	return ""
}

// Describe leaves the generic command as it is.
func (*Plain) Describe(*http.Request, *session.Command, bool) {}

// Prepare sets the credential and the identity headers.
func (d *Plain) Prepare(s *Session, r *http.Request) error {
	d.setCredential(r)
	a, err := s.Assertion(d.ttl)
	if err != nil {
		return err
	}
	r.Header.Set(HeaderUser, s.Identity().User())
	r.Header.Set(HeaderSession, s.ID())
	r.Header.Set(d.assertion, a)
	return nil
}

// setCredential sets the connection's upstream credential on r.
func (d *Plain) setCredential(r *http.Request) {
	switch d.cred.Type {
	case "bearer":
		r.Header.Set("Authorization", "Bearer "+d.cred.Token.Value())
	case "basic":
		r.Header.Set("Authorization", "Basic "+base64.StdEncoding.EncodeToString([]byte(d.user+":"+d.password)))
	case "header":
		r.Header.Set(d.cred.Header, d.cred.Token.Value())
	}
}

// Outcome keeps the body as it came (up to the cap), the status line as the
// tag, and server errors as errors.
func (*Plain) Outcome(_ *session.Command, res *session.Result, body []byte, _ bool) {
	res.HTTP.Body = string(body)
	if res.HTTP.Status >= 500 && res.Error == nil {
		res.Error = &session.Error{Code: res.Tag, Message: http.StatusText(res.HTTP.Status)}
	}
}

// Error answers with a small JSON document.
func (*Plain) Error(w http.ResponseWriter, code int, reason, msg string) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	if code == http.StatusUnauthorized {
		w.Header().Set("WWW-Authenticate", `Bearer realm="hoop"`)
	}
	w.WriteHeader(code)
	json.NewEncoder(w).Encode(struct {
		Error   string `json:"error"`
		Message string `json:"message"`
		Status  int    `json:"status"`
	}{reason, msg, code})
}
