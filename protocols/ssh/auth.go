package ssh

import (
	"context"
	"errors"
	"fmt"
	"net"
	"time"

	"golang.org/x/crypto/ssh"

	"github.com/hoophq/hoop/broker"
	"github.com/hoophq/hoop/config"
)

// keyring maps the public keys and user CAs of the configuration to
// identities.
type keyring struct {
	keys map[string]*config.SSHKey // by SHA256 fingerprint
	cas  map[string]bool           // CA fingerprints
	cert ssh.CertChecker
}

func newKeyring(s *config.SSH) (*keyring, error) {
	k := &keyring{keys: map[string]*config.SSHKey{}, cas: map[string]bool{}}
	for _, b := range s.Keys {
		pub, _, _, _, err := ssh.ParseAuthorizedKey([]byte(b.Key))
		if err != nil {
			return nil, fmt.Errorf("ssh.keys: %w", err)
		}
		k.keys[ssh.FingerprintSHA256(pub)] = b
	}
	for _, line := range s.UserCAs {
		pub, _, _, _, err := ssh.ParseAuthorizedKey([]byte(line))
		if err != nil {
			return nil, fmt.Errorf("ssh.user_cas: %w", err)
		}
		k.cas[ssh.FingerprintSHA256(pub)] = true
	}
	k.cert.IsUserAuthority = func(auth ssh.PublicKey) bool { return k.cas[ssh.FingerprintSHA256(auth)] }
	return k, nil
}

func (k *keyring) empty() bool { return len(k.keys) == 0 && len(k.cas) == 0 }

// identity returns the identity a public key or certificate stands for. The
// caller has not yet proven it holds the key.
func (k *keyring) identity(key ssh.PublicKey) (*broker.Identity, error) {
	if cert, ok := key.(*ssh.Certificate); ok {
		if cert.CertType != ssh.UserCert {
			return nil, errors.New("a host certificate is not a user certificate")
		}
		if !k.cas[ssh.FingerprintSHA256(cert.SignatureKey)] {
			return nil, fmt.Errorf("certificate %q is signed by %s, which is not a user CA of this connection", cert.KeyId, ssh.FingerprintSHA256(cert.SignatureKey))
		}
		principal := ""
		if len(cert.ValidPrincipals) > 0 {
			principal = cert.ValidPrincipals[0]
		}
		if err := k.cert.CheckCert(principal, cert); err != nil {
			return nil, fmt.Errorf("certificate %q: %v", cert.KeyId, err)
		}
		if cert.KeyId == "" {
			return nil, errors.New("certificate has no key id (the user)")
		}
		id := &broker.Identity{Provider: "ssh-ca:" + ssh.FingerprintSHA256(cert.SignatureKey)}
		id.Principal.Subject = cert.KeyId
		id.Principal.Groups = append([]string(nil), cert.ValidPrincipals...)
		if cert.ValidBefore != ssh.CertTimeInfinity {
			id.Expiry = time.Unix(int64(cert.ValidBefore), 0)
		}
		return id, nil
	}
	fp := ssh.FingerprintSHA256(key)
	b := k.keys[fp]
	if b == nil {
		return nil, fmt.Errorf("public key %s is not bound to an identity", fp)
	}
	id := &broker.Identity{Provider: "ssh-key:" + fp}
	id.Principal.Subject = b.User
	id.Principal.Groups = append([]string(nil), b.Groups...)
	return id, nil
}

type identityKey struct{}

// login is the authentication of one client connection. The callbacks run on
// the handshake's goroutine, one at a time.
type login struct {
	srv  *server
	ctx  context.Context
	addr net.Addr

	user    string          // the login name the client gave
	tried   bool            // a credential was presented
	failure string          // why the last one was refused
	denied  string          // the subject Open refused (and recorded)
	deniedE error           // what it was told
	sess    *broker.Session // opened once a credential verified
}

// config returns the server configuration whose callbacks report to l.
func (l *login) config() *ssh.ServerConfig {
	c := *l.srv.base
	c.PasswordCallback = func(cm ssh.ConnMetadata, pw []byte) (*ssh.Permissions, error) {
		return l.token(cm, string(pw), "password")
	}
	c.KeyboardInteractiveCallback = l.keyboard
	if !l.srv.keys.empty() {
		c.PublicKeyCallback = l.publicKey
		c.VerifiedPublicKeyCallback = l.verifiedKey
	}
	return &c
}

func (l *login) keyboard(cm ssh.ConnMetadata, challenge ssh.KeyboardInteractiveChallenge) (*ssh.Permissions, error) {
	answers, err := challenge("", "Authenticate to hoop with your token.", []string{"Token: "}, []bool{false})
	if err != nil {
		return nil, err
	}
	if len(answers) != 1 {
		return nil, errors.New("want one answer")
	}
	return l.token(cm, answers[0], "keyboard-interactive")
}

func (l *login) token(cm ssh.ConnMetadata, token, method string) (*ssh.Permissions, error) {
	l.tried, l.user = true, cm.User()
	id, err := l.srv.ep.Authenticate(l.ctx, token)
	if err != nil {
		// *broker.AuthError never holds the token; anything else is not for
		// the client.
		var ae *broker.AuthError
		msg := "authentication failed"
		if errors.As(err, &ae) {
			msg = ae.Error()
		}
		l.failure = msg
		return nil, &ssh.BannerError{Err: errors.New(msg), Message: "hoop: " + msg + "\r\n"}
	}
	return l.open(cm, id, method)
}

func (l *login) publicKey(cm ssh.ConnMetadata, key ssh.PublicKey) (*ssh.Permissions, error) {
	id, err := l.srv.keys.identity(key)
	if err != nil {
		// Clients offer several keys; only the last refusal is kept.
		l.tried, l.user = true, cm.User()
		l.failure = err.Error()
		return nil, err
	}
	return &ssh.Permissions{ExtraData: map[any]any{identityKey{}: id}}, nil
}

func (l *login) verifiedKey(cm ssh.ConnMetadata, key ssh.PublicKey, p *ssh.Permissions, _ string) (*ssh.Permissions, error) {
	id, _ := p.ExtraData[identityKey{}].(*broker.Identity)
	if id == nil {
		return nil, errors.New("no identity for the key")
	}
	method := "publickey"
	if _, ok := key.(*ssh.Certificate); ok {
		method = "certificate"
	}
	return l.open(cm, id, method)
}

// open starts the recorded session once the caller is known: the access
// check happens here, so a refused user reads why before "Permission denied".
func (l *login) open(cm ssh.ConnMetadata, id *broker.Identity, method string) (*ssh.Permissions, error) {
	l.tried = true
	if l.denied != "" && l.denied == id.Principal.Subject {
		return nil, l.deniedE // already refused and recorded: a retried prompt
	}
	meta := map[string]string{
		"ssh_user":       cm.User(),
		"auth":           method,
		"client_version": string(cm.ClientVersion()),
		"upstream":       l.srv.conn.Upstream.User + "@" + l.srv.conn.Upstream.Address,
	}
	s, err := l.srv.ep.Open(l.ctx, id, broker.Client{Addr: cm.RemoteAddr(), Meta: meta})
	if err != nil {
		var de *broker.DeniedError
		if errors.As(err, &de) {
			l.denied = id.Principal.Subject
			l.deniedE = &ssh.BannerError{Err: err, Message: "hoop: " + de.Message + "\r\n"}
			return nil, l.deniedE
		}
		l.failure = "the session could not be recorded"
		return nil, &ssh.BannerError{Err: err, Message: "hoop: the session could not be recorded; nothing was run\r\n"}
	}
	l.sess = s
	return &ssh.Permissions{}, nil
}
