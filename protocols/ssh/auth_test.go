package ssh_test

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/hoophq/hoop/internal/brokertest"
	"github.com/hoophq/hoop/internal/testenv"
	"github.com/hoophq/hoop/session"
)

// keygen makes a key pair with ssh-keygen and returns the private key path.
func keygen(t *testing.T, dir, name string) string {
	t.Helper()
	p := filepath.Join(dir, name)
	if out, err := exec.Command("ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", name, "-f", p).CombinedOutput(); err != nil {
		t.Fatalf("ssh-keygen: %v: %s", err, out)
	}
	return p
}

func pubLine(t *testing.T, key string) string {
	t.Helper()
	b, err := os.ReadFile(key + ".pub")
	if err != nil {
		t.Fatal(err)
	}
	return strings.TrimSpace(string(b))
}

// TestAuth: each way in, and each refusal, as stock ssh shows them.
func TestAuth(t *testing.T) {
	keys := t.TempDir()
	kim := keygen(t, keys, "kim")
	stranger := keygen(t, keys, "stranger")
	ca := keygen(t, keys, "ca")
	// A certificate for key "cert-user": key id bob, principals = groups.
	bobKey := keygen(t, keys, "bob")
	if out, err := exec.Command("ssh-keygen", "-q", "-s", ca, "-I", "bob", "-n", "ops,qa", "-V", "-5m:+1h", bobKey+".pub").CombinedOutput(); err != nil {
		t.Fatalf("sign: %v: %s", err, out)
	}
	// A certificate for someone outside the access groups.
	eveKey := keygen(t, keys, "eve")
	if out, err := exec.Command("ssh-keygen", "-q", "-s", ca, "-I", "eve", "-n", "sales", eveKey+".pub").CombinedOutput(); err != nil {
		t.Fatalf("sign: %v: %s", err, out)
	}
	e := newEnv(t, connOpts{ssh: fmt.Sprintf(`      keys:
        - key: %s
          user: kim
          groups: [ops]
      user_cas:
        - %s
`, pubLine(t, kim), pubLine(t, ca))})

	n := 0
	ok := func(name string, a auth, extra ...string) session.Info {
		t.Helper()
		args := append(extra, "-p", e.port("box"), "whoever@127.0.0.1", "echo $HOOP_USER")
		cmd := e.command("ssh", a, args...)
		stdout, stderr, code := run(t, cmd)
		n++
		if code != 0 {
			t.Fatalf("%s: exit %d: %s", name, code, stderr)
		}
		info := e.last(n)
		if strings.TrimSpace(stdout) != info.Principal.Subject || info.Outcome != session.OutcomeOK {
			t.Errorf("%s: stdout %q; session %+v", name, stdout, info)
		}
		return info
	}
	refused := func(name string, a auth, want string) session.Info {
		t.Helper()
		_, stderr, code := e.ssh("box", a, "true")
		n++
		if code != 255 || !strings.Contains(stderr, want) || !strings.Contains(stderr, "Permission denied") {
			t.Errorf("%s: exit %d, stderr %q; want 255 and %q", name, code, stderr, want)
		}
		info := e.last(n)
		if info.Outcome != session.OutcomeDenied || !strings.Contains(info.Reason, strings.TrimPrefix(want, "hoop: ")) {
			t.Errorf("%s: recorded %+v; want denied with the reason", name, info)
		}
		return info
	}

	tok := e.Token(t, "alice", "ops")
	if info := ok("token (keyboard-interactive)", auth{token: tok}); info.Meta["auth"] != "keyboard-interactive" {
		t.Errorf("auth %q", info.Meta["auth"])
	}
	if info := ok("token (password)", auth{token: tok}, "-o", "PreferredAuthentications=password"); info.Meta["auth"] != "password" {
		t.Errorf("auth %q", info.Meta["auth"])
	}
	if info := ok("bound key", auth{key: kim}); info.Principal.Subject != "kim" || info.Meta["auth"] != "publickey" {
		t.Errorf("bound key: %+v", info)
	}
	if info := ok("certificate", auth{key: bobKey}); info.Principal.Subject != "bob" || strings.Join(info.Principal.Groups, ",") != "ops,qa" {
		t.Errorf("certificate: %+v", info)
	}
	refused("wrong token", auth{token: tok[:len(tok)-4] + "AAAA"}, "hoop: authentication failed")
	refused("not a token", auth{token: "hunter2"}, "the password is not a token")
	refused("user outside the access groups", auth{token: e.Token(t, "mallory", "sales")},
		`hoop: user "mallory" is not in a group allowed to use connection "box"`)
	refused("certificate outside the access groups", auth{key: eveKey}, `user "eve" is not in a group`)

	// An unknown key: no banner (clients probe keys), just the refusal.
	_, stderr, code := e.ssh("box", auth{key: stranger}, "true")
	n++
	if code != 255 || !strings.Contains(stderr, "Permission denied") {
		t.Errorf("unknown key: exit %d: %s", code, stderr)
	}
	if info := e.last(n); info.Outcome != session.OutcomeDenied || !strings.Contains(info.Reason, "is not bound to an identity") {
		t.Errorf("unknown key recorded as %+v", info)
	}
	if strings.Contains(e.Logs(), tok) {
		t.Error("the broker logged a token")
	}
}

// TestUpstreamHostKeyMismatch: connections whose pinned fingerprint or
// known_hosts file does not match the upstream refuse the session with a
// clear message and record why.
func TestUpstreamHostKeyMismatch(t *testing.T) {
	dir := t.TempDir()
	other := keygen(t, dir, "other")
	known := filepath.Join(dir, "known_hosts")
	conn := func(name, hostKey string) string {
		port, err := testenv.FreePort()
		if err != nil {
			t.Fatal(err)
		}
		return fmt.Sprintf(`  - name: %s
    protocol: ssh
    listen: 127.0.0.1:%d
    upstream:
      address: {{UPSTREAM}}
      user: {{USER}}
    access:
      groups: [ops]
    ssh:
      upstream_key: ${file:upstream.key}
      %s
`, name, port, hostKey)
	}
	// known_hosts names the upstream, with another key.
	brokertest.WriteFile(t, known, "")
	e := newEnv(t, connOpts{extra: conn("pinned", "upstream_host_key: SHA256:47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU") +
		conn("known", "known_hosts: "+known), beforeLoad: func(sshd *testenv.SSHD) {
		brokertest.WriteFile(t, known, fmt.Sprintf("[%s]:%d %s\n", sshd.Host, sshd.Port, pubLine(t, other)))
	}})
	tok := e.Token(t, "alice", "ops")
	for i, tc := range []struct{ conn, want string }{
		{"pinned", "the connection expects SHA256:47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU"},
		{"known", "the connection expects the key on line 1 of " + known},
	} {
		stdout, stderr, code := e.ssh(tc.conn, auth{token: tok}, "echo should-not-run")
		if code != 255 || stdout != "" || !strings.Contains(stderr, "hoop: upstream host key mismatch for "+e.sshd.Addr()) ||
			!strings.Contains(stderr, "it presented ssh-ed25519 "+e.sshd.HostKeyFingerprint) || !strings.Contains(stderr, tc.want) {
			t.Errorf("%s: exit %d, stdout %q, stderr %q", tc.conn, code, stdout, stderr)
		}
		info := e.last(i + 1)
		if info.Outcome != session.OutcomeError || !strings.Contains(info.Reason, "upstream host key mismatch") {
			t.Errorf("%s: recorded %+v", tc.conn, info)
		}
		if cmds := e.recorded(info.ID).CommandsOf(""); len(cmds) != 0 {
			t.Errorf("%s: commands %+v; want none", tc.conn, cmds)
		}
	}
	if strings.Contains(e.sshd.Log(), "Accepted publickey") {
		t.Error("the broker logged in upstream despite the mismatch")
	}
}
