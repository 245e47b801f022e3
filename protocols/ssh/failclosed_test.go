package ssh_test

import (
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/hoophq/hoop/internal/brokertest"
	sshproto "github.com/hoophq/hoop/protocols/ssh"
	"github.com/hoophq/hoop/session"
)

// flakyBroker serves the env's ssh connection from a broker built by hand in
// this process, recording into a store whose commits can be made to fail,
// and adds its host key to the env's known_hosts.
func (e *env) flakyBroker() (port string, st *brokertest.FailingStore) {
	e.t.Helper()
	h, port := e.handBroker()
	return port, h.Store
}

// handBroker serves the env's ssh connection from a broker built by hand in
// this process and adds its host key to the env's known_hosts.
func (e *env) handBroker() (h *brokertest.Hand, port string) {
	e.t.Helper()
	h = brokertest.StartHand(e.t, e.Config, "box", sshproto.Serve)
	_, port, _ = net.SplitHostPort(h.Addr)
	known, _ := os.ReadFile(e.known)
	first := strings.SplitN(string(known), "\n", 2)[0]
	line := "[127.0.0.1]:" + port + " " + strings.SplitN(first, " ", 2)[1]
	brokertest.WriteFile(e.t, e.known, string(known)+line+"\n")
	return h, port
}

// TestServeShutdown: Serve returns only once its sessions have ended. A
// shutdown closes the client connections, and their sessions end sealed,
// saying the broker stopped.
func TestServeShutdown(t *testing.T) {
	e := newEnv(t, connOpts{})
	h, port := e.handBroker()
	term := e.shell(port)
	term.typeLine("echo lingering")
	term.expect("lingering\r\n$ ")
	h.Stop(t)
	if code := term.wait(); code == 0 {
		t.Errorf("ssh exited 0 after the shutdown; screen %q", term.Screen())
	}
	infos := h.WaitEnded(t, 1, nil)
	if len(infos) != 1 {
		t.Fatalf("%d sessions ended; want 1", len(infos))
	}
	if info := infos[0]; info.Outcome != session.OutcomeError || !strings.Contains(info.Reason, "the broker stopped") {
		t.Errorf("session %+v; want ended by the shutdown", info)
	}
	h.Sealed(t, infos[0].ID)
}

// TestFailClosed: once the store cannot commit, a typed line is not
// forwarded: the user reads why and the session ends; the upstream never
// runs it.
func TestFailClosed(t *testing.T) {
	e := newEnv(t, connOpts{})
	port, st := e.flakyBroker()
	term := e.shell(port)
	marker := filepath.Join(e.sshd.Files, "ran")
	term.typeLine("echo before")
	term.expect("before\r\n$ ")
	// The store fails under the broker (a full disk, a failed device).
	st.FailAll.Store(true)
	term.typeLine("touch " + marker)
	code := term.wait()
	if code == 0 || !strings.Contains(term.Screen(), "hoop: the session could not be recorded, so this was not run") {
		t.Errorf("exit %d; screen %q", code, term.Screen())
	}
	if _, err := os.Stat(marker); !os.IsNotExist(err) {
		t.Errorf("the unrecorded line ran upstream: %v", err)
	}
}

// TestExecFailClosed: an exec on a connection whose store fails is refused
// natively: the message on stderr, exit status 1, nothing run.
func TestExecFailClosed(t *testing.T) {
	e := newEnv(t, connOpts{})
	port, st := e.flakyBroker()
	// A multiplexing master keeps the session open across the failure.
	sock := filepath.Join(e.Dir, "mux")
	tok := e.Token(t, "alice", "ops")
	master := e.command("ssh", auth{token: tok}, "-M", "-S", sock, "-N", "-f", "-p", port, "u@127.0.0.1")
	if _, stderr, code := run(t, master); code != 0 {
		t.Fatalf("master: exit %d: %s", code, stderr)
	}
	t.Cleanup(func() { run(t, e.command("ssh", auth{}, "-S", sock, "-O", "exit", "u@127.0.0.1")) })
	st.FailAll.Store(true)
	marker := filepath.Join(e.sshd.Files, "ran")
	stdout, stderr, code := run(t, e.command("ssh", auth{}, "-S", sock, "-p", port, "u@127.0.0.1", "touch "+marker+"; echo ran"))
	if code != 1 || stdout != "" || !strings.Contains(stderr, "hoop: the session could not be recorded, so this was not run") {
		t.Errorf("exit %d, stdout %q, stderr %q", code, stdout, stderr)
	}
	if _, err := os.Stat(marker); !os.IsNotExist(err) {
		t.Errorf("the unrecorded command ran upstream: %v", err)
	}
}
