package main

import (
	"crypto/rand"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/hoophq/hoop/broker"
	"github.com/hoophq/hoop/config"
)

// httpDemo serves a small HTTP service on loopback for the demo, behind an
// http connection whose credential is the service's own bearer token. The
// service answers every request with what it received: the X-Hoop-User
// header, whether the X-Hoop-Assertion verifies with the broker's public key,
// which credential came, and that the user's token did not.
func httpDemo(dir, group string) (conn string, hint func() string, stop func(), err error) {
	fmt.Println("Starting a small HTTP service...")
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", nil, nil, err
	}
	secret := "svc-" + rand.Text()
	if err := os.WriteFile(filepath.Join(dir, "http-service.token"), []byte(secret+"\n"), 0o600); err != nil {
		ln.Close()
		return "", nil, nil, err
	}
	const name = "http-demo"
	srv := &http.Server{Handler: &service{dir: dir, conn: name, secret: secret, addr: ln.Addr().String()}, ReadHeaderTimeout: 10 * time.Second}
	go srv.Serve(ln)
	port := freePort(18080)
	conn = fmt.Sprintf(`  - name: %s
    protocol: http
    listen: 127.0.0.1:%d
    upstream:
      address: %s
      tls: disable
    http:
      credential:
        type: bearer
        token: ${file:http-service.token}
    access:
      groups: [%s]
`, name, port, ln.Addr(), group)
	hint = func() string {
		return fmt.Sprintf(`HTTP — connection %q on https://127.0.0.1:%d, in front of a service this demo serves on %s.
Send your token as a bearer token; the service answers with what it received:

  curl --cacert %s/data/%s -H "Authorization: Bearer $(cat %s/token)" https://127.0.0.1:%d/hello

Try also -H 'X-Hoop-User: mallory' (refused), or curl http://%s/hello straight (no identity).`,
			name, port, ln.Addr(), dir, broker.CertFile, dir, port, ln.Addr())
	}
	return conn, hint, func() { srv.Close() }, nil
}

// service is the demo's upstream HTTP service.
type service struct {
	dir, conn, secret, addr string
}

func (s *service) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(io.LimitReader(r.Body, 1<<20))
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	fmt.Fprintf(w, "Hello from the demo service on %s. It received %s %s\n", s.addr, r.Method, r.URL.RequestURI())
	fmt.Fprintf(w, "  X-Hoop-User:      %s\n", orNone(r.Header.Get("X-Hoop-User")))
	fmt.Fprintf(w, "  X-Hoop-Assertion: %s\n", s.assertion(r.Header.Get(config.DefaultAssertionHeader)))
	auth := r.Header.Get("Authorization")
	switch {
	case auth == "Bearer "+s.secret:
		auth = "Bearer svc-… — the service's own credential (" + s.dir + "/http-service.token), put there by the broker"
	case auth != "":
		auth = "something else: " + auth
	}
	fmt.Fprintf(w, "  Authorization:    %s\n", orNone(auth))
	fmt.Fprintf(w, "  your hoop token:  %s\n", s.tokenSeen(r, body))
}

// assertion says whether an identity assertion verifies with the broker's
// public key, and what it asserts.
func (s *service) assertion(a string) string {
	if a == "" {
		return "(none)"
	}
	pubFile := filepath.Join(s.dir, "data", broker.PublicKeyFile)
	pem, err := os.ReadFile(pubFile)
	if err != nil {
		return "cannot check: " + err.Error()
	}
	pub, err := jwt.ParseEdPublicKeyFromPEM(pem)
	if err != nil {
		return "cannot check: " + err.Error()
	}
	var c broker.AssertionClaims
	_, err = jwt.ParseWithClaims(a, &c, func(*jwt.Token) (any, error) { return pub, nil },
		jwt.WithValidMethods([]string{"EdDSA"}), jwt.WithIssuer(config.DefaultIssuer),
		jwt.WithAudience(broker.AssertionAudience(s.conn)), jwt.WithExpirationRequired())
	if err != nil {
		return "does NOT verify with " + pubFile + ": " + err.Error()
	}
	return fmt.Sprintf("verifies with %s — sub %s, groups %v, connection %s, session %s, expires in %s",
		pubFile, c.Subject, c.Groups, c.Connection, c.Session, time.Until(c.ExpiresAt.Time).Round(time.Second))
}

// tokenSeen says where the user's token reached the service, if anywhere.
func (s *service) tokenSeen(r *http.Request, body []byte) string {
	b, _ := os.ReadFile(filepath.Join(s.dir, "token"))
	tok := strings.TrimSpace(string(b))
	if tok == "" {
		return "cannot check (no " + s.dir + "/token)"
	}
	var where []string
	for k, vs := range r.Header {
		for _, v := range vs {
			if strings.Contains(v, tok) {
				where = append(where, "header "+k)
			}
		}
	}
	if strings.Contains(r.URL.RawQuery, tok) {
		where = append(where, "the query")
	}
	if strings.Contains(string(body), tok) {
		where = append(where, "the body")
	}
	if len(where) > 0 {
		return "RECEIVED in " + strings.Join(where, ", ")
	}
	return "not received (no header, query or body carried it)"
}

func orNone(s string) string {
	if s == "" {
		return "(none)"
	}
	return s
}
