package broker

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"os"

	"github.com/hoophq/hoop/config"
)

// UpstreamTLS is the client TLS configuration for up.TLS, which uses libpq's
// sslmode names:
//
//   - disable: nil, plaintext.
//   - prefer (the default): TLS when the server offers it, unverified;
//     fallback reports that plaintext is acceptable when the server offers no
//     TLS. A protocol that cannot fall back (HTTP: the scheme is chosen before
//     the server is reached) gives prefer its own meaning.
//   - require: TLS, unverified.
//   - verify-ca: TLS, the chain verified against up.CA, not the host name.
//   - verify-full: TLS, the chain verified against up.CA and the host name.
//
// With TLS, ServerName is up.ServerName, or else the host of up.Address, and
// is sent as SNI in every mode; RootCAs holds up.CA when it is set, so a
// caller that clears InsecureSkipVerify verifies against up.CA, or against
// the system roots without one. up.CA is read on every call: a CA file
// replaced on disk applies to the next upstream connection.
func UpstreamTLS(up *config.Upstream) (cfg *tls.Config, fallback bool, err error) {
	switch up.TLS {
	case "disable":
		return nil, false, nil
	case "", "prefer", "require", "verify-ca", "verify-full":
	default:
		return nil, false, fmt.Errorf("upstream tls %q is not a known mode", up.TLS)
	}
	cfg = &tls.Config{MinVersion: tls.VersionTLS12, ServerName: up.ServerName}
	if cfg.ServerName == "" {
		cfg.ServerName, _, _ = net.SplitHostPort(up.Address)
	}
	if up.CA != "" {
		pem, err := os.ReadFile(up.CA)
		if err != nil {
			return nil, false, fmt.Errorf("upstream CA: %w", err)
		}
		cfg.RootCAs = x509.NewCertPool()
		if !cfg.RootCAs.AppendCertsFromPEM(pem) {
			return nil, false, fmt.Errorf("upstream CA %s: no PEM certificate in it", up.CA)
		}
	}
	switch up.TLS {
	case "", "prefer":
		cfg.InsecureSkipVerify, fallback = true, true
	case "require":
		cfg.InsecureSkipVerify = true
	case "verify-ca":
		// The chain is verified by VerifyConnection, the host name is not.
		cfg.InsecureSkipVerify = true
		cfg.VerifyConnection = verifyChain(cfg.RootCAs)
	}
	return cfg, fallback, nil
}

// verifyChain verifies the peer's chain against roots (the system roots when
// nil), whatever name its certificate bears.
func verifyChain(roots *x509.CertPool) func(tls.ConnectionState) error {
	return func(cs tls.ConnectionState) error {
		if len(cs.PeerCertificates) == 0 {
			return errors.New("the upstream sent no certificate")
		}
		opts := x509.VerifyOptions{Roots: roots, Intermediates: x509.NewCertPool()}
		for _, c := range cs.PeerCertificates[1:] {
			opts.Intermediates.AddCert(c)
		}
		_, err := cs.PeerCertificates[0].Verify(opts)
		return err
	}
}
