package ssh

import (
	"context"
	"errors"
	"fmt"
	"net"
	"strings"
	"time"

	"golang.org/x/crypto/ssh"
	"golang.org/x/crypto/ssh/knownhosts"

	"github.com/hoophq/hoop/config"
)

// UpstreamError is a failure to reach or log in to the upstream. Its message
// is shown to the client and never holds a credential.
type UpstreamError struct {
	Msg string
	Err error
}

func (e *UpstreamError) Error() string { return e.Msg }
func (e *UpstreamError) Unwrap() error { return e.Err }

// HostKeyError is an upstream host key that does not match the configured one.
type HostKeyError struct {
	Addr string
	Got  string // fingerprint the upstream presented
	Want string // the pin, or the known_hosts file
}

func (e *HostKeyError) Error() string {
	return fmt.Sprintf("upstream host key mismatch for %s: it presented %s, the connection expects %s; refusing to connect (someone may be intercepting, or the host was reinstalled: update ssh.upstream_host_key or ssh.known_hosts)", e.Addr, e.Got, e.Want)
}

// upstream dials the connection's sshd.
type upstream struct {
	conn *config.Connection
	cfg  ssh.ClientConfig
}

func newUpstream(conn *config.Connection) (*upstream, error) {
	s := &conn.SSH
	u := &upstream{conn: conn}
	u.cfg.User = conn.Upstream.User
	u.cfg.Timeout = conn.Upstream.ConnectTimeout.D()
	u.cfg.ClientVersion = "SSH-2.0-hoop"
	if k := s.UpstreamKey.Value(); k != "" {
		signer, err := ssh.ParsePrivateKey([]byte(k + "\n"))
		if err != nil {
			return nil, fmt.Errorf("ssh.upstream_key: %w", err)
		}
		u.cfg.Auth = append(u.cfg.Auth, ssh.PublicKeys(signer))
	}
	if pw := conn.Upstream.Password.Value(); pw != "" {
		u.cfg.Auth = append(u.cfg.Auth, ssh.Password(pw), ssh.KeyboardInteractive(
			func(_, _ string, questions []string, _ []bool) ([]string, error) {
				answers := make([]string, len(questions))
				for i := range answers {
					answers[i] = pw
				}
				return answers, nil
			}))
	}
	if s.UpstreamHostKey != "" {
		fp, key, err := config.ParseHostKeyPin(s.UpstreamHostKey)
		if err != nil {
			return nil, err
		}
		if key != nil {
			u.cfg.HostKeyAlgorithms = algorithms(key.Type())
		}
		u.cfg.HostKeyCallback = func(host string, _ net.Addr, key ssh.PublicKey) error {
			if got := ssh.FingerprintSHA256(key); got != fp {
				return &HostKeyError{Addr: host, Got: key.Type() + " " + got, Want: fp}
			}
			return nil
		}
		return u, nil
	}
	check, err := knownhosts.New(s.KnownHosts)
	if err != nil {
		return nil, fmt.Errorf("ssh.known_hosts: %w", err)
	}
	u.cfg.HostKeyAlgorithms = knownAlgorithms(check, conn.Upstream.Address)
	u.cfg.HostKeyCallback = func(host string, remote net.Addr, key ssh.PublicKey) error {
		err := check(host, remote, key)
		var ke *knownhosts.KeyError
		if errors.As(err, &ke) {
			want := "no key (" + s.KnownHosts + " does not list " + knownhosts.Normalize(host) + ")"
			if len(ke.Want) > 0 {
				want = "the key on line " + fmt.Sprint(ke.Want[0].Line) + " of " + s.KnownHosts
			}
			return &HostKeyError{Addr: host, Got: key.Type() + " " + ssh.FingerprintSHA256(key), Want: want}
		}
		return err
	}
	return u, nil
}

// knownAlgorithms asks a known_hosts callback which keys it holds for addr, so
// that the upstream is asked for a key of a type it can be checked against.
func knownAlgorithms(check ssh.HostKeyCallback, addr string) []string {
	var ke *knownhosts.KeyError
	if !errors.As(check(addr, &net.TCPAddr{}, probeKey{}), &ke) {
		return nil
	}
	var out []string
	for _, k := range ke.Want {
		for _, a := range algorithms(k.Key.Type()) {
			if !contains(out, a) {
				out = append(out, a)
			}
		}
	}
	return out
}

func contains(s []string, v string) bool {
	for _, x := range s {
		if x == v {
			return true
		}
	}
	return false
}

// algorithms are the host key algorithms that a key of type t signs with.
func algorithms(t string) []string {
	if t == ssh.KeyAlgoRSA {
		return []string{ssh.KeyAlgoRSASHA512, ssh.KeyAlgoRSASHA256, ssh.KeyAlgoRSA}
	}
	return []string{t}
}

// probeKey is a key no known_hosts file holds.
type probeKey struct{}

func (probeKey) Type() string                        { return "hoop-probe" }
func (probeKey) Marshal() []byte                     { return []byte("hoop-probe") }
func (probeKey) Verify([]byte, *ssh.Signature) error { return errors.New("probe") }

// dial connects and logs in upstream.
func (u *upstream) dial(ctx context.Context) (*ssh.Client, error) {
	addr := u.conn.Upstream.Address
	d := net.Dialer{Timeout: u.cfg.Timeout}
	nc, err := d.DialContext(ctx, "tcp", addr)
	if err != nil {
		return nil, &UpstreamError{Msg: fmt.Sprintf("cannot reach the upstream %s: %v", addr, err), Err: err}
	}
	cfg := u.cfg
	if u.cfg.Timeout > 0 {
		nc.SetDeadline(time.Now().Add(u.cfg.Timeout)) // the handshake and login
	}
	c, chans, reqs, err := ssh.NewClientConn(nc, addr, &cfg)
	nc.SetDeadline(time.Time{})
	if err != nil {
		nc.Close()
		var hk *HostKeyError
		if errors.As(err, &hk) {
			return nil, hk
		}
		msg := err.Error()
		if strings.Contains(msg, "unable to authenticate") {
			msg = fmt.Sprintf("the upstream %s refused the broker's login as %q", addr, u.cfg.User)
		} else {
			msg = fmt.Sprintf("upstream %s: %v", addr, err)
		}
		return nil, &UpstreamError{Msg: msg, Err: err}
	}
	return ssh.NewClient(c, chans, reqs), nil
}
