package config

import (
	"crypto/ed25519"
	"crypto/rand"
	"encoding/pem"
	"errors"
	"path/filepath"
	"strings"
	"testing"

	"golang.org/x/crypto/ssh"
)

// sshKeys returns a private key PEM and a public key line.
func sshKeys(t *testing.T) (string, string) {
	t.Helper()
	pub, key, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	blk, err := ssh.MarshalPrivateKey(key, "")
	if err != nil {
		t.Fatal(err)
	}
	spub, _ := ssh.NewPublicKey(pub)
	return string(pem.EncodeToMemory(blk)), strings.TrimSpace(string(ssh.MarshalAuthorizedKey(spub)))
}

const sshBase = `broker:
  data_dir: data
admin:
  tokens:
    - ${env:HOOP_TEST_ADMIN}
connections:
  - name: box
    protocol: ssh
    listen: 127.0.0.1:2222
    upstream:
      address: 10.0.0.5:22
      user: deploy
    access:
      groups: [ops]
    ssh:
      upstream_key: ${file:id_ed25519}
      upstream_host_key: SHA256:47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU
      keys:
        - key: PUBKEY
          user: kim
          groups: [ops]
`

func TestSSHValid(t *testing.T) {
	dir := t.TempDir()
	t.Setenv("HOOP_TEST_ADMIN", "x")
	priv, pub := sshKeys(t)
	write(t, dir, "id_ed25519", priv)
	cfg, err := Load(write(t, dir, "broker.yaml", strings.Replace(sshBase, "PUBKEY", pub, 1)))
	if err != nil {
		t.Fatal(err)
	}
	s := cfg.Connections[0].SSH
	if s.HostKey != filepath.Join(dir, "data", DefaultSSHHostKey) || !s.GenerateHostKey {
		t.Errorf("host key %q generate %v; want the data dir default", s.HostKey, s.GenerateHostKey)
	}
	if !s.RecordsInput() || s.PortForwarding || strings.Join(s.Env, ",") != "LANG,LC_*" {
		t.Errorf("defaults not applied: %+v", s)
	}
	if cfg.Connections[0].TLS.Mode != "off" {
		t.Errorf("tls mode %q; ssh needs no TLS certificate", cfg.Connections[0].TLS.Mode)
	}
	if strings.Contains(sprint(cfg), "PRIVATE KEY") || strings.Contains(sprint(s), "PRIVATE KEY") {
		t.Error("formatting the config prints the upstream key")
	}
}

func TestSSHErrors(t *testing.T) {
	t.Setenv("HOOP_TEST_ADMIN", "x")
	for _, tc := range []struct {
		name, edit, want string
	}{
		{"no upstream user", "      user: deploy\n|", "broker.yaml:10: connections[0].upstream.user: required: the upstream login"},
		{"no upstream credential", "      upstream_key: ${file:id_ed25519}\n|", "connections[0].ssh.upstream_key: required (or upstream.password)"},
		{"bad upstream key", "${file:id_ed25519}|${file:garbage}", "broker.yaml:16: connections[0].ssh.upstream_key: not a usable private key"},
		{"inline upstream key", "${file:id_ed25519}|-----BEGIN", "connections[0].ssh.upstream_key: secrets must be references"},
		{"no host key check", "      upstream_host_key: SHA256:47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU\n|", "connections[0].ssh.upstream_host_key: required (or ssh.known_hosts)"},
		{"bad fingerprint", "SHA256:47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU|MD5:aa:bb", "broker.yaml:17: connections[0].ssh.upstream_host_key: want a SHA256:... fingerprint"},
		{"both checks", "      keys:|      known_hosts: known_hosts\n      keys:", "connections[0].ssh.known_hosts: set upstream_host_key or known_hosts, not both"},
		{"bad bound key", "PUBKEY|ssh-ed25519 notbase64", "broker.yaml:19: connections[0].ssh.keys[0].key: want a public key line"},
		{"key without user", "          user: kim\n|", "connections[0].ssh.keys[0].user: required"},
		{"bad ca", "      keys:|      user_cas: [nonsense]\n      keys:", "connections[0].ssh.user_cas[0]: want a public key line"},
		{"missing host key file", "    ssh:|    ssh:\n      host_key: nope", "connections[0].ssh.host_key: cannot read"},
		{"tls cert", "    ssh:|    tls:\n      cert: a\n      key: b\n    ssh:", "connections[0].tls: does not apply to ssh connections"},
		{"database", "      user: deploy|      user: deploy\n      database: app", "connections[0].upstream.database: does not apply to ssh"},
		{"bad env glob", "    ssh:|    ssh:\n      env: [\"[\"]", "connections[0].ssh.env[0]: want a variable name or glob"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			priv, pub := sshKeys(t)
			write(t, dir, "id_ed25519", priv)
			write(t, dir, "garbage", "not a key")
			write(t, dir, "known_hosts", "")
			write(t, dir, "a", "")
			write(t, dir, "b", "")
			old, new, _ := strings.Cut(tc.edit, "|")
			if !strings.Contains(sshBase, old) {
				t.Fatalf("edit %q does not apply", old)
			}
			body := strings.Replace(strings.Replace(sshBase, old, new, 1), "PUBKEY", pub, 1)
			_, err := Load(write(t, dir, "broker.yaml", body))
			var es Errors
			if !errors.As(err, &es) {
				t.Fatalf("got %v; want config.Errors", err)
			}
			got := strings.ReplaceAll(err.Error(), dir+"/", "")
			if !strings.Contains(got, tc.want) {
				t.Fatalf("got %q; want it to contain %q", got, tc.want)
			}
			if strings.Contains(got, "PRIVATE KEY") {
				t.Fatalf("the error quotes the key: %q", got)
			}
		})
	}
}
