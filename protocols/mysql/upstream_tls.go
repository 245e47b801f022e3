package mysql

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"os"

	"github.com/hoophq/hoop/config"
)

// upstreamTLS is the TLS configuration for upstream.tls, libpq's sslmode
// names: disable (plaintext), prefer (TLS when the server offers it,
// unverified), require (TLS, unverified), verify-ca (the chain against
// upstream.ca), verify-full (the chain and the host name, or
// upstream.server_name). fallback says a server without TLS is acceptable.
func upstreamTLS(up *config.Upstream) (cfg *tls.Config, fallback bool, err error) {
	host, _, _ := net.SplitHostPort(up.Address)
	switch up.TLS {
	case "disable":
		return nil, false, nil
	case "", "prefer":
		return &tls.Config{InsecureSkipVerify: true, MinVersion: tls.VersionTLS12}, true, nil
	case "require":
		return &tls.Config{InsecureSkipVerify: true, MinVersion: tls.VersionTLS12}, false, nil
	}
	pem, err := os.ReadFile(up.CA)
	if err != nil {
		return nil, false, fmt.Errorf("upstream CA: %w", err)
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(pem) {
		return nil, false, fmt.Errorf("upstream CA %s: no PEM certificate in it", up.CA)
	}
	switch up.TLS {
	case "verify-ca":
		return &tls.Config{
			MinVersion: tls.VersionTLS12,
			// The chain is verified below, the host name is not.
			InsecureSkipVerify: true,
			VerifyConnection: func(cs tls.ConnectionState) error {
				if len(cs.PeerCertificates) == 0 {
					return errors.New("the upstream sent no certificate")
				}
				inter := x509.NewCertPool()
				for _, c := range cs.PeerCertificates[1:] {
					inter.AddCert(c)
				}
				_, err := cs.PeerCertificates[0].Verify(x509.VerifyOptions{Roots: pool, Intermediates: inter})
				return err
			},
		}, false, nil
	case "verify-full":
		name := up.ServerName
		if name == "" {
			name = host
		}
		return &tls.Config{MinVersion: tls.VersionTLS12, RootCAs: pool, ServerName: name}, false, nil
	}
	return nil, false, fmt.Errorf("upstream tls %q is not a known mode", up.TLS)
}
