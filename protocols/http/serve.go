package http

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"os"

	"github.com/hoophq/hoop/broker"
)

// Serve serves an http connection's callers on ln.
func Serve(ctx context.Context, ln net.Listener, ep *broker.Endpoint) error {
	conn := ep.Conn
	up := &conn.Upstream
	target := &url.URL{Scheme: "https", Host: up.Address}
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.Proxy = nil
	if up.TLS == "disable" {
		target.Scheme = "http"
	} else {
		tc, err := UpstreamTLS(up.TLS, up.CA, up.ServerName, up.Address)
		if err != nil {
			return fmt.Errorf("connection %s: %w", conn.Name, err)
		}
		tr.TLSClientConfig = tc
	}
	tr.DialContext = (&net.Dialer{Timeout: up.ConnectTimeout.D()}).DialContext
	p := NewProxy(ep, NewPlain(conn), Config{
		Target:    target,
		Transport: tr,
		MaxBody:   int(conn.HTTP.MaxBody),
		Redact:    append(conn.HTTP.RedactHeaders, conn.HTTP.Credential.Header, conn.HTTP.AssertionHeader),
	})
	return ServeProxy(ctx, ln, p)
}

// UpstreamTLS is the client TLS configuration of an upstream TLS mode
// (libpq's names): require encrypts without verifying, verify-ca verifies
// the chain against ca, verify-full also the host name, prefer verifies
// against the system roots.
func UpstreamTLS(mode, ca, serverName, addr string) (*tls.Config, error) {
	tc := &tls.Config{MinVersion: tls.VersionTLS12, ServerName: serverName}
	if tc.ServerName == "" {
		host, _, _ := net.SplitHostPort(addr)
		tc.ServerName = host
	}
	var pool *x509.CertPool
	if ca != "" {
		b, err := os.ReadFile(ca)
		if err != nil {
			return nil, err
		}
		pool = x509.NewCertPool()
		if !pool.AppendCertsFromPEM(b) {
			return nil, fmt.Errorf("%s: no PEM certificate", ca)
		}
	}
	switch mode {
	case "require":
		tc.InsecureSkipVerify = true
	case "verify-ca":
		tc.InsecureSkipVerify = true // the chain is checked below, not the name
		tc.VerifyConnection = func(cs tls.ConnectionState) error {
			if len(cs.PeerCertificates) == 0 {
				return fmt.Errorf("upstream sent no certificate")
			}
			opts := x509.VerifyOptions{Roots: pool, Intermediates: x509.NewCertPool()}
			for _, c := range cs.PeerCertificates[1:] {
				opts.Intermediates.AddCert(c)
			}
			_, err := cs.PeerCertificates[0].Verify(opts)
			return err
		}
	default:
		tc.RootCAs = pool
	}
	return tc, nil
}
