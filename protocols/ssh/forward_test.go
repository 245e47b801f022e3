package ssh_test

import (
	"io"
	"net"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/hoophq/hoop/session"
)

// echoServer accepts connections on loopback and echoes them, upper-cased.
func echoServer(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				b, _ := io.ReadAll(c)
				c.Write([]byte(strings.ToUpper(string(b))))
			}()
		}
	}()
	return ln.Addr().String()
}

// TestForwardRefused: direct-tcpip (ssh -W, ssh -L) is refused unless the
// connection allows it, and the attempt is recorded.
func TestForwardRefused(t *testing.T) {
	e := newEnv(t, connOpts{})
	target := echoServer(t)
	cmd := e.command("ssh", auth{token: e.Token(t, "alice", "ops")}, "-W", target, "-p", e.port("box"), "u@127.0.0.1")
	cmd.Stdin = strings.NewReader("hello")
	stdout, stderr, code := run(t, cmd)
	if code != 255 || stdout != "" || !strings.Contains(stderr, "administratively prohibited: hoop: port forwarding is not allowed on connection box") {
		t.Errorf("exit %d, stdout %q, stderr %q", code, stdout, stderr)
	}
	info := e.last(1)
	found := false
	for _, ev := range e.Events(t, info.ID) {
		if ev.Kind == session.KindError && strings.Contains(string(ev.Payload), "refused port forwarding to "+target) {
			found = true
		}
	}
	if !found {
		t.Errorf("the refused forwarding is not recorded: %+v", e.Events(t, info.ID))
	}
}

// TestForwardAllowed: with port_forwarding on, ssh -W reaches the target
// from the upstream, and the forwarded connection is recorded with its target
// and byte counts.
func TestForwardAllowed(t *testing.T) {
	e := newEnv(t, connOpts{ssh: "      port_forwarding: true\n"})
	target := echoServer(t)
	cmd := e.command("ssh", auth{token: e.Token(t, "alice", "ops")}, "-W", target, "-p", e.port("box"), "u@127.0.0.1")
	cmd.Stdin = strings.NewReader("hello through the tunnel")
	stdout, stderr, code := run(t, cmd)
	if code != 0 || stdout != "HELLO THROUGH THE TUNNEL" {
		t.Fatalf("exit %d, stdout %q, stderr %q", code, stdout, stderr)
	}
	info := e.last(1)
	cmds := e.recorded(info.ID).CommandsOf("")
	if len(cmds) != 1 || cmds[0].Type != "direct-tcpip" || cmds[0].Text != target {
		t.Errorf("commands %+v; want direct-tcpip %s", cmds, target)
	}
	res := e.recorded(info.ID).Results
	if len(res) != 1 || res[0].BytesIn != 24 || res[0].BytesOut != 24 {
		t.Errorf("results %+v; want 24 bytes each way", res)
	}
}

// TestEnv: the client may send the allow-listed variables, never HOOP_*:
// the broker's identity wins and the attempt is recorded as denied.
func TestEnv(t *testing.T) {
	e := newEnv(t, connOpts{})
	stdout, stderr, code := e.ssh("box", auth{token: e.Token(t, "alice", "ops")},
		"-o", "SetEnv=HOOP_USER=root LC_DEMO=kept OTHER=dropped", `echo "$HOOP_USER $LC_DEMO ${OTHER:-unset}"`)
	if code != 0 || stdout != "alice kept unset\n" {
		t.Fatalf("exit %d, stdout %q, stderr %q", code, stdout, stderr)
	}
	info := e.last(1)
	var denied bool
	for _, ev := range e.Events(t, info.ID) {
		if ev.Kind == session.KindPolicy && strings.Contains(string(ev.Payload), `"text":"HOOP_USER"`) && !strings.Contains(string(ev.Payload), "root") {
			denied = true
		}
	}
	if !denied {
		t.Errorf("no policy event for the HOOP_USER attempt: %+v", e.Events(t, info.ID))
	}
}

// TestAgentAndX11Refused: ssh -A and ssh -X get a clear refusal; the
// command still runs, without an agent socket or a display.
func TestAgentAndX11Refused(t *testing.T) {
	e := newEnv(t, connOpts{})
	sock := filepath.Join(e.Dir, "agent.sock")
	agent := exec.Command("ssh-agent", "-D", "-a", sock)
	if err := agent.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { agent.Process.Kill(); agent.Wait() })
	e.waitSocket(sock)
	cmd := e.command("ssh", auth{token: e.Token(t, "alice", "ops")}, "-A", "-X", "-p", e.port("box"), "u@127.0.0.1", `echo "${SSH_AUTH_SOCK:-no-agent} ${DISPLAY:-no-display}"`)
	cmd.Env = append(cmd.Env, "SSH_AUTH_SOCK="+sock, "DISPLAY=:42")
	stdout, stderr, code := run(t, cmd)
	if code != 0 || stdout != "no-agent no-display\n" {
		t.Fatalf("exit %d, stdout %q, stderr %q", code, stdout, stderr)
	}
	for _, want := range []string{"hoop: agent forwarding is refused by the broker", "hoop: X11 forwarding is refused by the broker"} {
		if !strings.Contains(stderr, want) {
			t.Errorf("stderr %q; want %q", stderr, want)
		}
	}
}

// waitSocket waits until a unix socket accepts.
func (e *env) waitSocket(path string) {
	e.t.Helper()
	deadline := time.Now().Add(hangGuard)
	for {
		c, err := net.Dial("unix", path)
		if err == nil {
			c.Close()
			return
		}
		if time.Now().After(deadline) {
			e.t.Fatalf("%s: %v", path, err)
		}
		time.Sleep(10 * time.Millisecond)
	}
}
