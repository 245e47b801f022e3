package ssh_test

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/hoophq/hoop/broker"
	sshproto "github.com/hoophq/hoop/protocols/ssh"
	"github.com/hoophq/hoop/session"
	"github.com/hoophq/hoop/store"
)

// flakyStore is a real store whose commits can be made to fail.
type flakyStore struct {
	*store.Bolt
	failing atomic.Bool
}

func (f *flakyStore) Commit(b *store.Batch, fsync bool) error {
	if f.failing.Load() {
		return errors.New("no space left on device (test)")
	}
	return f.Bolt.Commit(b, fsync)
}

// flakyBroker serves the env's ssh connection from a second broker in this
// process, recording into a flakyStore. It returns its port.
func (e *env) flakyBroker() (string, *flakyStore) {
	e.t.Helper()
	bolt, err := store.Open(filepath.Join(e.dir, "flaky.db"), store.Options{})
	if err != nil {
		e.t.Fatal(err)
	}
	st := &flakyStore{Bolt: bolt}
	key, err := broker.LoadOrCreateKey(e.cfg.Broker.DataDir)
	if err != nil {
		e.t.Fatal(err)
	}
	rec := session.NewRecorder(st, session.Options{Key: key})
	b := broker.New(e.cfg, key, rec, slog.New(slog.NewTextHandler(io.Discard, nil)))
	ep, err := b.Endpoint(e.cfg.Connection("box"))
	if err != nil {
		e.t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		e.t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		sshproto.Serve(ctx, ln, ep)
	}()
	e.t.Cleanup(func() {
		cancel()
		<-done
		rec.Close()
		bolt.Close()
	})
	_, port, _ := net.SplitHostPort(ln.Addr().String())
	known, _ := os.ReadFile(e.known)
	first := strings.SplitN(string(known), "\n", 2)[0]
	line := "[127.0.0.1]:" + port + " " + strings.SplitN(first, " ", 2)[1]
	write(e.t, e.known, string(known)+line+"\n")
	return port, st
}

// TestFailClosed: once the store cannot commit, a typed line is not
// forwarded: the user reads why and the session ends; the upstream never
// runs it.
func TestFailClosed(t *testing.T) {
	e := newEnv(t, connOpts{})
	port, st := e.flakyBroker()
	cmd := e.command("ssh", auth{token: e.token("alice", "ops")}, "-tt", "-q", "-p", port, "alice@127.0.0.1")
	term := startTerminal(t, cmd, 80, 24)
	term.expect("$ ")
	marker := filepath.Join(e.sshd.Files, "ran")
	term.typeLine("echo before")
	term.expect("before\r\n$ ")
	// The store fails under the broker (a full disk, a failed device).
	st.failing.Store(true)
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
	sock := filepath.Join(e.dir, "mux")
	tok := e.token("alice", "ops")
	master := e.command("ssh", auth{token: tok}, "-M", "-S", sock, "-N", "-f", "-p", port, "u@127.0.0.1")
	if _, stderr, code := run(t, master); code != 0 {
		t.Fatalf("master: exit %d: %s", code, stderr)
	}
	t.Cleanup(func() { run(t, e.command("ssh", auth{}, "-S", sock, "-O", "exit", "u@127.0.0.1")) })
	st.failing.Store(true)
	marker := filepath.Join(e.sshd.Files, "ran")
	stdout, stderr, code := run(t, e.command("ssh", auth{}, "-S", sock, "-p", port, "u@127.0.0.1", "touch "+marker+"; echo ran"))
	if code != 1 || stdout != "" || !strings.Contains(stderr, "hoop: the session could not be recorded, so this was not run") {
		t.Errorf("exit %d, stdout %q, stderr %q", code, stdout, stderr)
	}
	if _, err := os.Stat(marker); !os.IsNotExist(err) {
		t.Errorf("the unrecorded command ran upstream: %v", err)
	}
}
