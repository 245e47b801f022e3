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
	"testing"
	"time"

	"github.com/hoophq/hoop/config"
)

func TestUpstreamTLSModes(t *testing.T) {
	ca, _ := newTestCA(t, "hoop test CA")
	for _, tc := range []struct {
		mode, ca, serverName string
		wantNil              bool
		wantFallback         bool
		wantSkip             bool // InsecureSkipVerify
		wantVerifyConn       bool
		wantServerName       string
	}{
		{mode: "disable", wantNil: true},
		{mode: "prefer", wantFallback: true, wantSkip: true, wantServerName: "db.internal"},
		{mode: "", wantFallback: true, wantSkip: true, wantServerName: "db.internal"},
		{mode: "require", wantSkip: true, wantServerName: "db.internal"},
		{mode: "require", serverName: "db.example", wantSkip: true, wantServerName: "db.example"},
		{mode: "verify-ca", ca: ca, wantSkip: true, wantVerifyConn: true, wantServerName: "db.internal"},
		{mode: "verify-full", ca: ca, wantServerName: "db.internal"},
		{mode: "verify-full", ca: ca, serverName: "db.example", wantServerName: "db.example"},
	} {
		up := &config.Upstream{Address: "db.internal:3306", TLS: tc.mode, CA: tc.ca, ServerName: tc.serverName}
		cfg, fallback, err := UpstreamTLS(up)
		if err != nil {
			t.Errorf("%q: %v", tc.mode, err)
			continue
		}
		if (cfg == nil) != tc.wantNil || fallback != tc.wantFallback {
			t.Errorf("%q: got config %v, fallback %v; want nil %v, fallback %v", tc.mode, cfg != nil, fallback, tc.wantNil, tc.wantFallback)
		}
		if cfg == nil {
			continue
		}
		if cfg.InsecureSkipVerify != tc.wantSkip || (cfg.VerifyConnection != nil) != tc.wantVerifyConn {
			t.Errorf("%q: got InsecureSkipVerify %v, VerifyConnection %v; want %v, %v", tc.mode, cfg.InsecureSkipVerify, cfg.VerifyConnection != nil, tc.wantSkip, tc.wantVerifyConn)
		}
		if cfg.ServerName != tc.wantServerName {
			t.Errorf("%q: got ServerName %q; want %q", tc.mode, cfg.ServerName, tc.wantServerName)
		}
		if (cfg.RootCAs != nil) != (tc.ca != "") {
			t.Errorf("%q: got RootCAs %v; want them only with a CA", tc.mode, cfg.RootCAs != nil)
		}
		if cfg.MinVersion != tls.VersionTLS12 {
			t.Errorf("%q: got MinVersion %x; want TLS 1.2", tc.mode, cfg.MinVersion)
		}
	}
}

func TestUpstreamTLSErrors(t *testing.T) {
	dir := t.TempDir()
	garbage := filepath.Join(dir, "garbage.pem")
	if err := os.WriteFile(garbage, []byte("not a certificate"), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, up := range []*config.Upstream{
		{Address: "db:1", TLS: "sometimes"},
		{Address: "db:1", TLS: "verify-full", CA: filepath.Join(dir, "missing.pem")},
		{Address: "db:1", TLS: "verify-ca", CA: garbage},
	} {
		if cfg, _, err := UpstreamTLS(up); err == nil {
			t.Errorf("tls %q, ca %q: got %v, nil; want an error", up.TLS, up.CA, cfg)
		}
	}
}

// verify-ca checks the chain but not the name; verify-full checks both.
func TestUpstreamTLSVerify(t *testing.T) {
	caFile, ca := newTestCA(t, "hoop test CA")
	otherFile, _ := newTestCA(t, "another CA")
	leaf := ca.issue(t, "db.internal")
	for _, tc := range []struct {
		mode, ca, addr string
		ok             bool
	}{
		{"verify-ca", caFile, "db.internal:5432", true},
		{"verify-ca", caFile, "elsewhere:5432", true},
		{"verify-ca", otherFile, "db.internal:5432", false},
		{"verify-full", caFile, "db.internal:5432", true},
		{"verify-full", caFile, "elsewhere:5432", false},
		{"verify-full", otherFile, "db.internal:5432", false},
		{"require", otherFile, "elsewhere:5432", true},
	} {
		cfg, _, err := UpstreamTLS(&config.Upstream{Address: tc.addr, TLS: tc.mode, CA: tc.ca})
		if err != nil {
			t.Fatal(err)
		}
		err = handshake(t, cfg, leaf)
		if (err == nil) != tc.ok {
			t.Errorf("%s against %s with %s: handshake error %v; want success %v", tc.mode, tc.addr, filepath.Base(tc.ca), err, tc.ok)
		}
	}
}

// handshake runs a TLS handshake of a client with cfg against a server with
// cert, and returns the client's error. It goes over loopback TCP rather than
// net.Pipe, which has no buffer: a client failing mid-flight would block
// writing its alert while the server blocks writing the rest of its flight.
func handshake(t *testing.T, cfg *tls.Config, cert tls.Certificate) error {
	t.Helper()
	ln, err := tls.Listen("tcp", "127.0.0.1:0", &tls.Config{Certificates: []tls.Certificate{cert}})
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	go func() {
		s, err := ln.Accept()
		if err != nil {
			return
		}
		s.SetDeadline(time.Now().Add(10 * time.Second))
		s.(*tls.Conn).Handshake()
		s.Close()
	}()
	c, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(10 * time.Second))
	return tls.Client(c, cfg).Handshake()
}

// A testCA is a certificate and its key; it signs the certificates it issues.
type testCA struct {
	cert *x509.Certificate
	key  *ecdsa.PrivateKey
}

// newTestCA writes a new CA's certificate to a PEM file and returns its path.
func newTestCA(t *testing.T, name string) (string, *testCA) {
	t.Helper()
	ca := (*testCA)(nil).sign(t, &x509.Certificate{
		Subject:               pkix.Name{CommonName: name},
		KeyUsage:              x509.KeyUsageCertSign,
		BasicConstraintsValid: true,
		IsCA:                  true,
	})
	path := filepath.Join(t.TempDir(), "ca.pem")
	if err := os.WriteFile(path, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: ca.cert.Raw}), 0o600); err != nil {
		t.Fatal(err)
	}
	return path, ca
}

// issue returns a server certificate for host signed by ca.
func (ca *testCA) issue(t *testing.T, host string) tls.Certificate {
	t.Helper()
	leaf := ca.sign(t, &x509.Certificate{
		Subject:     pkix.Name{CommonName: host},
		KeyUsage:    x509.KeyUsageDigitalSignature,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		DNSNames:    []string{host},
	})
	return tls.Certificate{Certificate: [][]byte{leaf.cert.Raw}, PrivateKey: leaf.key}
}

// sign issues tmpl, valid for an hour, to a new key; ca signs it, or the new
// key itself when ca is nil.
func (ca *testCA) sign(t *testing.T, tmpl *x509.Certificate) *testCA {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	serial, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 64))
	if err != nil {
		t.Fatal(err)
	}
	tmpl.SerialNumber, tmpl.NotBefore, tmpl.NotAfter = serial, time.Now().Add(-time.Hour), time.Now().Add(time.Hour)
	parent, signer := tmpl, key
	if ca != nil {
		parent, signer = ca.cert, ca.key
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, parent, &key.PublicKey, signer)
	if err != nil {
		t.Fatal(err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	return &testCA{cert: cert, key: key}
}
