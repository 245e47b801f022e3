package kube

import (
	"context"
	"crypto/tls"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"time"

	"github.com/hoophq/hoop/broker"
	hoophttp "github.com/hoophq/hoop/protocols/http"
)

// Serve serves a kube connection's callers on ln.
func Serve(ctx context.Context, ln net.Listener, ep *broker.Endpoint) error {
	conn := ep.Conn
	up := &conn.Upstream
	tc, err := hoophttp.UpstreamTLS(up)
	if err != nil {
		return fmt.Errorf("connection %s: %w", conn.Name, err)
	}
	if tc == nil { // config refuses it: the API server's CA is pinned
		return fmt.Errorf("connection %s: upstream tls %s is not supported for kube", conn.Name, up.TLS)
	}
	if conn.Kube.ClientCert != "" {
		cert, err := tls.LoadX509KeyPair(conn.Kube.ClientCert, conn.Kube.ClientKey)
		if err != nil {
			return fmt.Errorf("connection %s: client certificate: %w", conn.Name, err)
		}
		tc.Certificates = []tls.Certificate{cert}
	}
	d := &dialect{
		token:  conn.Kube.Token.Value(),
		max:    int(conn.Kube.MaxBody),
		tls:    tc,
		target: &url.URL{Scheme: "https", Host: up.Address},
		dialer: &net.Dialer{Timeout: up.ConnectTimeout.D(), KeepAlive: 30 * time.Second},
	}
	// Streams speak HTTP/1.1 (Upgrade); API calls use HTTP/2. Each
	// transport gets its own TLS configuration: http.Transport adds h2 to
	// the one it is given.
	d.tls.NextProtos = []string{"http/1.1"}
	h2 := &http.Transport{
		DialContext:         d.dial,
		TLSClientConfig:     tc.Clone(),
		ForceAttemptHTTP2:   true,
		MaxIdleConns:        256,
		MaxIdleConnsPerHost: 64,
		IdleConnTimeout:     90 * time.Second,
		TLSHandshakeTimeout: up.ConnectTimeout.D(),
	}
	h1 := &http.Transport{
		DialContext:         d.dial,
		TLSClientConfig:     d.tls.Clone(),
		TLSNextProto:        map[string]func(string, *tls.Conn) http.RoundTripper{},
		MaxIdleConnsPerHost: 16,
		IdleConnTimeout:     90 * time.Second,
		TLSHandshakeTimeout: up.ConnectTimeout.D(),
	}
	p := hoophttp.NewProxy(ep, d, hoophttp.Config{Target: d.target, Transport: h2, UpgradeTransport: h1, MaxBody: d.max})
	return hoophttp.ServeProxy(ctx, ln, p)
}
