package http

import (
	"context"
	"crypto/tls"
	"fmt"
	"net"
	"net/http"
	"net/url"

	"github.com/hoophq/hoop/broker"
	"github.com/hoophq/hoop/config"
)

// Serve serves an http connection's callers on ln.
func Serve(ctx context.Context, ln net.Listener, ep *broker.Endpoint) error {
	conn := ep.Conn
	up := &conn.Upstream
	target := &url.URL{Scheme: "https", Host: up.Address}
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.Proxy = nil
	tc, err := UpstreamTLS(up)
	if err != nil {
		return fmt.Errorf("connection %s: %w", conn.Name, err)
	}
	if tc == nil {
		target.Scheme = "http"
	} else {
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

// UpstreamTLS is the client TLS configuration of an HTTP upstream, nil for
// tls disable (plain http). It is broker.UpstreamTLS but for prefer: a request
// cannot fall back to plain http once its scheme is https, so prefer means
// https verified against upstream.ca, or against the system roots without
// one — not unverified TLS as for the database protocols.
func UpstreamTLS(up *config.Upstream) (*tls.Config, error) {
	tc, fallback, err := broker.UpstreamTLS(up)
	if err != nil {
		return nil, err
	}
	if fallback {
		tc.InsecureSkipVerify = false
	}
	return tc, nil
}
