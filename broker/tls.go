package broker

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"time"

	"github.com/hoophq/hoop/config"
	"github.com/hoophq/hoop/internal/atomicfile"
)

// Generated listener certificate, in the data dir.
const (
	CertFile    = "tls/broker.crt"
	CertKeyFile = "tls/broker.key"
)

func (b *Broker) listenerTLS(conn *config.Connection) (*tls.Config, error) {
	var cert tls.Certificate
	if conn.TLS.Cert != "" {
		c, err := tls.LoadX509KeyPair(conn.TLS.Cert, conn.TLS.Key)
		if err != nil {
			return nil, err
		}
		cert = c
	} else {
		if b.cert == nil {
			c, err := loadOrCreateCert(b.cfg)
			if err != nil {
				return nil, err
			}
			b.cert = c
		}
		cert = *b.cert
	}
	return &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12}, nil
}

// loadOrCreateCert returns the self-signed certificate in the data dir,
// generating it when it is missing or expires within a week. It names
// localhost, the loopback addresses, the host name and every listen host.
func loadOrCreateCert(cfg *config.Config) (*tls.Certificate, error) {
	certPath := filepath.Join(cfg.Broker.DataDir, CertFile)
	keyPath := filepath.Join(cfg.Broker.DataDir, CertKeyFile)
	if c, err := tls.LoadX509KeyPair(certPath, keyPath); err == nil && c.Leaf != nil && time.Until(c.Leaf.NotAfter) > 7*24*time.Hour {
		return &c, nil
	}
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, err
	}
	serial, _ := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 120))
	tmpl := &x509.Certificate{
		SerialNumber: serial,
		Subject:      pkix.Name{CommonName: "hoop broker", Organization: []string{"hoop"}},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(365 * 24 * time.Hour),
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		DNSNames:     []string{"localhost"},
		IPAddresses:  []net.IP{net.IPv4(127, 0, 0, 1), net.IPv6loopback},
	}
	if h, err := os.Hostname(); err == nil {
		tmpl.DNSNames = append(tmpl.DNSNames, h)
	}
	for _, c := range cfg.Connections {
		host, _, _ := net.SplitHostPort(c.Listen)
		if ip := net.ParseIP(host); ip != nil && !ip.IsUnspecified() {
			tmpl.IPAddresses = append(tmpl.IPAddresses, ip)
		} else if host != "" && ip == nil {
			tmpl.DNSNames = append(tmpl.DNSNames, host)
		}
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return nil, err
	}
	kder, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return nil, err
	}
	if err := os.MkdirAll(filepath.Dir(certPath), 0o700); err != nil {
		return nil, err
	}
	if err := atomicfile.WriteFile(keyPath, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: kder}), 0o600); err != nil {
		return nil, err
	}
	if err := atomicfile.WriteFile(certPath, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o644); err != nil {
		return nil, err
	}
	c, err := tls.LoadX509KeyPair(certPath, keyPath)
	return &c, err
}
