package config

import (
	"fmt"
	"path"
	"path/filepath"
	"strings"

	"golang.org/x/crypto/ssh"
)

func init() { protocols["ssh"] = (*validator).ssh }

// SSH holds the settings of an ssh connection. Every user of the connection
// logs in upstream as upstream.user, with UpstreamKey or upstream.password;
// the login name a user gives the broker (ssh NAME@broker) is recorded and
// chooses nothing.
type SSH struct {
	// HostKey is the broker's host key for this listener, a private key file
	// (OpenSSH or PEM format). When empty, an ed25519 key is generated into the
	// data dir on first start (ssh/host_ed25519_key) and kept.
	HostKey string `yaml:"host_key"`
	// UpstreamKey is the private key the broker logs in upstream with; use a
	// secret reference. It or upstream.password is required.
	UpstreamKey Secret `yaml:"upstream_key"`
	// UpstreamHostKey pins the upstream's host key: its fingerprint as
	// `ssh-keygen -lf` prints it (SHA256:...) or its public key line
	// ("ssh-ed25519 AAAA..."). It or KnownHosts is required; a mismatch refuses
	// the session.
	UpstreamHostKey string `yaml:"upstream_host_key"`
	// KnownHosts is a known_hosts file the upstream's host key is checked
	// against, under the upstream address.
	KnownHosts string `yaml:"known_hosts"`
	// Keys bind public keys to identities: a user whose key is listed logs in
	// with it instead of a token.
	Keys []*SSHKey `yaml:"keys"`
	// UserCAs are certificate authorities, as public key lines, whose user
	// certificates are accepted: the certificate's key id is the user and its
	// principals are the user's groups (ssh-keygen -s ca -I alice -n dba,ops).
	UserCAs []string `yaml:"user_cas"`
	// RecordInput records what users type. On by default; turn it off where
	// users type secrets the recording must not keep. Output, resizes, commands
	// and exit statuses are recorded either way.
	RecordInput *bool `yaml:"record_input"`
	// PortForwarding allows direct-tcpip channels (ssh -L, ssh -W) to be opened
	// through the upstream; each forwarded connection is recorded with its
	// target and byte counts. Off by default.
	PortForwarding bool `yaml:"port_forwarding"`
	// Env lists the environment variables a client may send upstream: names or
	// globs such as LC_*. Default LANG and LC_*. HOOP_* are never accepted from
	// a client: the broker sets them.
	Env []string `yaml:"env"`

	// GenerateHostKey says HostKey is the default path in the data dir, to be
	// generated when missing (not a YAML key).
	GenerateHostKey bool `yaml:"-"`
}

// SSHKey binds a public key to an identity.
type SSHKey struct {
	// Key is the public key as in authorized_keys ("ssh-ed25519 AAAA... comment").
	Key string `yaml:"key"`
	// User is the identity the key stands for.
	User string `yaml:"user"`
	// Groups are the identity's groups, matched against access.groups.
	Groups []string `yaml:"groups"`
}

// DefaultSSHHostKey is the generated host key, relative to the data dir.
const DefaultSSHHostKey = "ssh/host_ed25519_key"

// RecordsInput reports whether what users type is recorded.
func (s *SSH) RecordsInput() bool { return s.RecordInput == nil || *s.RecordInput }

// ssh validates the settings an ssh connection needs.
func (v *validator) ssh(conn *Connection, p string) {
	s := &conn.SSH
	up := &conn.Upstream
	if up.User == "" {
		v.errorf(p+".upstream.user", "required: the upstream login every user of %q gets", conn.Name)
	}
	if up.Database != "" {
		v.errorf(p+".upstream.database", "does not apply to ssh connections")
	}
	if conn.TLS.Cert != "" {
		v.errorf(p+".tls", "does not apply to ssh connections: SSH encrypts itself with the broker's host key (ssh.host_key)")
	}
	conn.TLS.Mode = "off" // no TLS certificate to generate

	if s.HostKey == "" {
		s.HostKey = filepath.Join(v.cfg.Broker.DataDir, DefaultSSHHostKey)
		s.GenerateHostKey = true
	} else {
		s.HostKey = v.file_(s.HostKey, p+".ssh.host_key")
	}
	v.secret(&s.UpstreamKey, p+".ssh.upstream_key", false)
	switch {
	case s.UpstreamKey.IsZero() && up.Password.IsZero():
		v.errorf(p+".ssh.upstream_key", "required (or upstream.password): how the broker logs in upstream")
	case s.UpstreamKey.Value() != "":
		if _, err := ssh.ParsePrivateKey([]byte(s.UpstreamKey.Value() + "\n")); err != nil {
			// The parser's message never quotes the key.
			v.errorf(p+".ssh.upstream_key", "not a usable private key: %v", err)
		}
	}

	switch {
	case s.UpstreamHostKey == "" && s.KnownHosts == "":
		v.errorf(p+".ssh.upstream_host_key", "required (or ssh.known_hosts): the upstream's host key is always verified")
	case s.UpstreamHostKey != "" && s.KnownHosts != "":
		v.errorf(p+".ssh.known_hosts", "set upstream_host_key or known_hosts, not both")
	case s.UpstreamHostKey != "":
		if _, _, err := ParseHostKeyPin(s.UpstreamHostKey); err != nil {
			v.errorf(p+".ssh.upstream_host_key", "%v", err)
		}
	default:
		s.KnownHosts = v.file_(s.KnownHosts, p+".ssh.known_hosts")
	}

	seen := map[string]bool{}
	for i, k := range s.Keys {
		kp := fmt.Sprintf("%s.ssh.keys[%d]", p, i)
		if k == nil {
			v.errorf(kp, "empty key binding")
			continue
		}
		pub, _, _, _, err := ssh.ParseAuthorizedKey([]byte(k.Key))
		if err != nil {
			v.errorf(kp+".key", "want a public key line (ssh-ed25519 AAAA...): %v", err)
		} else if fp := ssh.FingerprintSHA256(pub); seen[fp] {
			v.errorf(kp+".key", "key %s is bound twice", fp)
		} else {
			seen[fp] = true
		}
		if k.User == "" {
			v.errorf(kp+".user", "required: the identity the key stands for")
		}
	}
	for i, ca := range s.UserCAs {
		if _, _, _, _, err := ssh.ParseAuthorizedKey([]byte(ca)); err != nil {
			v.errorf(fmt.Sprintf("%s.ssh.user_cas[%d]", p, i), "want a public key line (ssh-ed25519 AAAA...): %v", err)
		}
	}
	if s.Env == nil {
		s.Env = []string{"LANG", "LC_*"}
	}
	for i, e := range s.Env {
		if _, err := path.Match(e, ""); err != nil || e == "" {
			v.errorf(fmt.Sprintf("%s.ssh.env[%d]", p, i), "want a variable name or glob, got %q", e)
		}
	}
}

// ParseHostKeyPin parses ssh.upstream_host_key: a SHA256 fingerprint, or a
// public key line whose fingerprint is then returned with the key.
func ParseHostKeyPin(s string) (fingerprint string, key ssh.PublicKey, err error) {
	s = strings.TrimSpace(s)
	if strings.HasPrefix(s, "SHA256:") {
		if len(s) != len("SHA256:")+43 {
			return "", nil, fmt.Errorf("fingerprint %q: want SHA256: and 43 base64 characters, as ssh-keygen -lf prints", s)
		}
		return s, nil, nil
	}
	key, _, _, _, err = ssh.ParseAuthorizedKey([]byte(s))
	if err != nil {
		return "", nil, fmt.Errorf("want a SHA256:... fingerprint or a public key line: %v", err)
	}
	return ssh.FingerprintSHA256(key), key, nil
}
