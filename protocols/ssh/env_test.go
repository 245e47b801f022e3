package ssh_test

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/hoophq/hoop/config"
	"github.com/hoophq/hoop/internal/brokertest"
	"github.com/hoophq/hoop/internal/testenv"
	"github.com/hoophq/hoop/session"
)

// hangGuard bounds every wait in these tests. It is no performance
// threshold: a healthy run takes a small fraction of it.
const hangGuard = 2 * time.Minute

// env is a throwaway sshd behind a broker running in this process.
type env struct {
	*brokertest.Broker
	t     *testing.T
	sshd  *testenv.SSHD
	known string // known_hosts holding the broker's host key
}

// connOpts adds settings to the ssh connection's YAML.
type connOpts struct {
	ssh   string // extra lines under ssh: (indented 6)
	extra string // extra connections (full YAML items)
	conn  string // extra lines under the connection (indented 4)
	// beforeLoad runs once the sshd is up, before the config is loaded.
	beforeLoad func(*testenv.SSHD)
}

func newEnv(t *testing.T, o connOpts) *env {
	t.Helper()
	if err := testenv.SSHClients(); err != nil {
		t.Fatal(err)
	}
	sshd, err := testenv.StartSSHD("")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(sshd.Stop)
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("sshd log:\n%s", sshd.Log())
		}
	})
	dir := t.TempDir()
	brokertest.WriteFile(t, filepath.Join(dir, "upstream.key"), string(sshd.ClientKeyPEM))
	port, _ := testenv.FreePort()
	yaml := brokertest.YAML(fmt.Sprintf(`  - name: box
    protocol: ssh
    listen: 127.0.0.1:%d
%s    upstream:
      address: %s
      user: %s
    access:
      groups: [ops]
    ssh:
      upstream_key: ${file:upstream.key}
      upstream_host_key: %s
%s%s`, port, o.conn, sshd.Addr(), sshd.User, sshd.HostKeyFingerprint, o.ssh,
		strings.NewReplacer("{{UPSTREAM}}", sshd.Addr(), "{{USER}}", sshd.User).Replace(o.extra)))
	if o.beforeLoad != nil {
		o.beforeLoad(sshd)
	}
	e := &env{Broker: brokertest.Start(t, dir, yaml), t: t, sshd: sshd}
	// The way a user learns the broker's host key: ssh-keyscan. It must be
	// the one generated into the data dir.
	e.known = filepath.Join(dir, "known_hosts")
	var lines []string
	for _, c := range e.Config.Connections {
		scan, _, code := run(t, exec.Command("ssh-keyscan", "-t", "ed25519", "-p", e.port(c.Name), "127.0.0.1"))
		if code != 0 || scan == "" {
			t.Fatalf("ssh-keyscan %s: exit %d", c.Name, code)
		}
		lines = append(lines, strings.TrimSpace(scan))
	}
	pub, err := os.ReadFile(filepath.Join(e.Config.Broker.DataDir, config.DefaultSSHHostKey+".pub"))
	if err != nil {
		t.Fatal(err)
	}
	if key := strings.Fields(string(pub))[1]; !strings.Contains(lines[0], key) {
		t.Fatalf("ssh-keyscan %q; want the generated key %s", lines[0], pub)
	}
	brokertest.WriteFile(t, e.known, strings.Join(lines, "\n")+"\n")
	return e
}

// port is the broker's port for a connection.
func (e *env) port(conn string) string {
	_, p, _ := strings.Cut(e.Addr(conn), ":")
	return p
}

// clientOpts are the stock-client options every test uses: no user config,
// the broker's host key pinned, no agent.
func (e *env) clientOpts() []string {
	return []string{"-F", "/dev/null",
		"-o", "UserKnownHostsFile=" + e.known, "-o", "StrictHostKeyChecking=yes",
		"-o", "GlobalKnownHostsFile=/dev/null", "-o", "NumberOfPasswordPrompts=1",
		"-o", "ConnectTimeout=30", "-o", "ServerAliveInterval=0"}
}

// auth is how a client logs in: a token (over askpass) or a key file.
type auth struct {
	token string
	key   string
}

// command prepares a stock client (ssh, scp, sftp) against connection conn.
// sshArgs go before the program's own arguments.
func (e *env) command(prog string, a auth, args ...string) *exec.Cmd {
	e.t.Helper()
	opts := e.clientOpts()
	if a.key != "" {
		opts = append(opts, "-o", "IdentitiesOnly=yes", "-o", "IdentityFile="+a.key,
			"-o", "PasswordAuthentication=no", "-o", "KbdInteractiveAuthentication=no")
	} else {
		opts = append(opts, "-o", "PubkeyAuthentication=no")
	}
	cmd := exec.Command(prog, append(opts, args...)...)
	cmd.Env = e.clientEnv(a)
	return cmd
}

// clientEnv gives the token to ssh through SSH_ASKPASS, as a user's password
// manager would.
func (e *env) clientEnv(a auth) []string {
	env := []string{"PATH=" + os.Getenv("PATH"), "HOME=" + e.Dir, "LANG=C"}
	if a.token != "" {
		f, err := os.CreateTemp(e.Dir, "token-")
		if err != nil {
			e.t.Fatal(err)
		}
		f.WriteString(a.token + "\n")
		f.Close()
		askpass := f.Name() + ".sh"
		brokertest.WriteFile(e.t, askpass, "#!/bin/sh\nexec cat "+f.Name()+"\n")
		os.Chmod(askpass, 0o700)
		env = append(env, "SSH_ASKPASS="+askpass, "SSH_ASKPASS_REQUIRE=force", "DISPLAY=none")
	}
	return env
}

// ssh runs `ssh -p PORT user@127.0.0.1 args...` and returns stdout, stderr
// and the exit code.
func (e *env) ssh(conn string, a auth, args ...string) (string, string, int) {
	e.t.Helper()
	cmd := e.command("ssh", a, append([]string{"-p", e.port(conn), "user@127.0.0.1"}, args...)...)
	return run(e.t, cmd)
}

// shell logs alice in to an interactive shell through the listener on port
// and waits for its prompt.
func (e *env) shell(port string) *terminal {
	e.t.Helper()
	cmd := e.command("ssh", auth{token: e.Token(e.t, "alice", "ops")}, "-tt", "-q", "-p", port, "alice@127.0.0.1")
	term := startTerminal(e.t, cmd, 80, 24)
	term.expect("$ ")
	return term
}

func run(t *testing.T, cmd *exec.Cmd) (string, string, int) {
	t.Helper()
	var out, errb bytes.Buffer
	if cmd.Stdout == nil {
		cmd.Stdout = &out
	}
	cmd.Stderr = &errb
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	var err error
	select {
	case err = <-done:
	case <-time.After(hangGuard):
		cmd.Process.Kill()
		<-done
		t.Fatalf("%s hangs; stderr:\n%s", cmd, errb.String())
	}
	code := 0
	if ee, ok := err.(*exec.ExitError); ok {
		code = ee.ExitCode()
	} else if err != nil {
		t.Fatal(err)
	}
	return out.String(), errb.String(), code
}

// ended waits until n sessions have ended and returns them all, ended or
// not, oldest first.
func (e *env) ended(n int) []session.Info {
	e.t.Helper()
	e.WaitEnded(e.t, n, nil)
	return e.Sessions(e.t, nil)
}

// last waits for n ended sessions and returns the newest.
func (e *env) last(n int) session.Info {
	e.t.Helper()
	all := e.ended(n)
	return all[len(all)-1]
}

// recorded decodes a session's verified events.
func (e *env) recorded(id string) *brokertest.Recorded {
	e.t.Helper()
	return brokertest.Decode(e.t, e.Events(e.t, id))
}

func itoa(n int) string { return strconv.Itoa(n) }
