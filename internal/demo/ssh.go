package main

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/hoophq/hoop/config"
	"github.com/hoophq/hoop/internal/testenv"
)

// sshDemo starts a throwaway sshd for the demo. It returns the connection to
// append under connections: in the demo's broker.yaml (allowing group), and
// hint, which — once the broker runs — pins the broker's host key in
// dir/known_hosts, writes an askpass script that prints the token, and returns
// the ssh, scp and sftp lines to type.
func sshDemo(dir, group string) (conn string, hint func() string, stop func(), err error) {
	fmt.Println("Starting a throwaway OpenSSH server...")
	sshd, err := testenv.StartSSHD("")
	if err != nil {
		return "", nil, nil, err
	}
	abs, _ := filepath.Abs(dir)
	if err := os.WriteFile(filepath.Join(abs, "ssh-upstream.key"), sshd.ClientKeyPEM, 0o600); err != nil {
		sshd.Stop()
		return "", nil, nil, err
	}
	port := freePort(2222)
	conn = fmt.Sprintf(`  - name: ssh-demo
    protocol: ssh
    listen: 127.0.0.1:%d
    upstream:
      address: %s
      user: %s
    access:
      groups: [%s]
    ssh:
      upstream_key: ${file:ssh-upstream.key}
      upstream_host_key: %s
`, port, sshd.Addr(), sshd.User, group, sshd.HostKeyFingerprint)
	hint = func() string {
		pub, err := os.ReadFile(filepath.Join(abs, "data", config.DefaultSSHHostKey+".pub"))
		if err != nil {
			return "ssh: " + err.Error()
		}
		known := filepath.Join(abs, "known_hosts")
		os.WriteFile(known, fmt.Appendf(nil, "[127.0.0.1]:%d %s", port, pub), 0o600)
		askpass := filepath.Join(abs, "askpass")
		os.WriteFile(askpass, fmt.Appendf(nil, "#!/bin/sh\nexec cat %s\n", filepath.Join(abs, "token")), 0o700)
		pass := fmt.Sprintf("SSH_ASKPASS_REQUIRE=force SSH_ASKPASS=%s/askpass", dir)
		opts := fmt.Sprintf("-o UserKnownHostsFile=%s/known_hosts", dir)
		return strings.Join([]string{
			fmt.Sprintf("OpenSSH — connection \"ssh-demo\" on 127.0.0.1:%d, upstream %s as %s.", port, sshd.Addr(), sshd.User),
			fmt.Sprintf("Your token is the password: paste it at the prompt, or let %s/askpass hand it over:", dir),
			"",
			fmt.Sprintf("  %s ssh %s -p %d demo@127.0.0.1", pass, opts, port),
			fmt.Sprintf("  %s scp %s -P %d README.md demo@127.0.0.1:%s/", pass, opts, port, sshd.Files),
			fmt.Sprintf("  %s sftp %s -P %d demo@127.0.0.1", pass, opts, port),
			"",
			"A shell session replays as the terminal showed it: replay latest (--speed 2, --no-timing, --format asciicast).",
		}, "\n")
	}
	return conn, hint, sshd.Stop, nil
}
