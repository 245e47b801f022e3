package ssh_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hoophq/hoop/broker"
	"github.com/hoophq/hoop/config"
	"github.com/hoophq/hoop/internal/server"
	"github.com/hoophq/hoop/internal/testenv"
	"github.com/hoophq/hoop/session"
	"github.com/hoophq/hoop/store"
)

// hangGuard bounds every wait in these tests. It is no performance
// threshold: a healthy run takes a small fraction of it.
const hangGuard = 2 * time.Minute

// env is a throwaway sshd behind a broker running in this process.
type env struct {
	t     *testing.T
	sshd  *testenv.SSHD
	srv   *server.Server
	dir   string
	cfg   *config.Config
	known string      // known_hosts holding the broker's host key
	logs  *syncBuffer // the broker's log
	admin string      // admin API token
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
	dir := t.TempDir()
	e := &env{t: t, sshd: sshd, dir: dir, logs: &syncBuffer{}, admin: "ssh-test-admin-token"}
	write(t, filepath.Join(dir, "admin.token"), e.admin+"\n")
	write(t, filepath.Join(dir, "upstream.key"), string(sshd.ClientKeyPEM))
	port, _ := testenv.FreePort()
	yaml := fmt.Sprintf(`broker:
  data_dir: data
  log_level: debug
admin:
  listen: 127.0.0.1:0
  tokens:
    - ${file:admin.token}
connections:
  - name: box
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
		strings.NewReplacer("{{UPSTREAM}}", sshd.Addr(), "{{USER}}", sshd.User).Replace(o.extra))
	if o.beforeLoad != nil {
		o.beforeLoad(sshd)
	}
	path := filepath.Join(dir, "broker.yaml")
	write(t, path, yaml)
	cfg, err := config.Load(path)
	if err != nil {
		t.Fatalf("config: %v\n%s", err, yaml)
	}
	e.cfg = cfg
	log := slog.New(slog.NewTextHandler(e.logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	srv, err := server.Start(context.Background(), cfg, log)
	if err != nil {
		t.Fatal(err)
	}
	e.srv = srv
	t.Cleanup(func() {
		if err := srv.Close(); err != nil {
			t.Errorf("broker close: %v", err)
		}
		if t.Failed() {
			t.Logf("broker log:\n%s", e.logs.String())
			t.Logf("sshd log:\n%s", sshd.Log())
		}
	})
	// The way a user learns the broker's host key: ssh-keyscan. It must be
	// the one generated into the data dir.
	e.known = filepath.Join(dir, "known_hosts")
	var lines []string
	for _, c := range cfg.Connections {
		scan, _, code := run(t, exec.Command("ssh-keyscan", "-t", "ed25519", "-p", e.port(c.Name), "127.0.0.1"))
		if code != 0 || scan == "" {
			t.Fatalf("ssh-keyscan %s: exit %d", c.Name, code)
		}
		lines = append(lines, strings.TrimSpace(scan))
	}
	pub, err := os.ReadFile(filepath.Join(cfg.Broker.DataDir, config.DefaultSSHHostKey+".pub"))
	if err != nil {
		t.Fatal(err)
	}
	if key := strings.Fields(string(pub))[1]; !strings.Contains(lines[0], key) {
		t.Fatalf("ssh-keyscan %q; want the generated key %s", lines[0], pub)
	}
	write(t, e.known, strings.Join(lines, "\n")+"\n")
	return e
}

func write(t *testing.T, path, body string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(body), 0o600); err != nil {
		t.Fatal(err)
	}
}

// token issues a broker token.
func (e *env) token(user string, groups ...string) string {
	e.t.Helper()
	tok, err := e.srv.Broker.Authenticator().Issue(broker.TokenRequest{User: user, Groups: groups, TTL: time.Hour})
	if err != nil {
		e.t.Fatal(err)
	}
	return tok
}

// port is the broker's port for a connection.
func (e *env) port(conn string) string {
	_, p, _ := strings.Cut(e.srv.Addr(conn), ":")
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
	env := []string{"PATH=" + os.Getenv("PATH"), "HOME=" + e.dir, "LANG=C"}
	if a.token != "" {
		f, err := os.CreateTemp(e.dir, "token-")
		if err != nil {
			e.t.Fatal(err)
		}
		f.WriteString(a.token + "\n")
		f.Close()
		askpass := f.Name() + ".sh"
		write(e.t, askpass, "#!/bin/sh\nexec cat "+f.Name()+"\n")
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

// sessions lists the recorded sessions, oldest first.
func (e *env) sessions() []session.Info {
	e.t.Helper()
	var out []session.Info
	err := e.srv.Store.Sessions(func(en store.Entry) bool {
		var info session.Info
		if err := json.Unmarshal(en.Data, &info); err != nil {
			e.t.Fatal(err)
		}
		out = append(out, info)
		return true
	})
	if err != nil {
		e.t.Fatal(err)
	}
	slices.Reverse(out) // the store lists newest first
	return out
}

// ended waits until n sessions have ended and returns them all.
func (e *env) ended(n int) []session.Info {
	e.t.Helper()
	deadline := time.After(hangGuard)
	for {
		committed := e.srv.Recorder().Committed()
		all := e.sessions()
		done := 0
		for _, s := range all {
			if s.Outcome != "" {
				done++
			}
		}
		if done >= n {
			return all
		}
		select {
		case <-committed:
		case <-deadline:
			e.t.Fatalf("%d of %d sessions ended: %+v", done, n, all)
		}
	}
}

// last waits for n ended sessions and returns the newest.
func (e *env) last(n int) session.Info {
	e.t.Helper()
	all := e.ended(n)
	return all[len(all)-1]
}

// events reads a session's verified events.
func (e *env) events(id string) []*session.Event {
	e.t.Helper()
	ch := session.NewChain(id, e.srv.Recorder().PublicKey())
	var out []*session.Event
	var err error
	e.srv.Store.Records(id, 0, func(r store.Record) bool {
		var ev *session.Event
		ev, err = ch.Add(r.Seq, r.Data)
		if err != nil {
			return false
		}
		out = append(out, ev)
		return true
	})
	if err != nil {
		e.t.Fatalf("session %s: %v", id, err)
	}
	return out
}

// commands returns the payloads of a session's command events.
func (e *env) commands(id string) []session.Command {
	var out []session.Command
	for _, ev := range e.events(id) {
		if ev.Kind == session.KindCommand {
			var c session.Command
			json.Unmarshal(ev.Payload, &c)
			out = append(out, c)
		}
	}
	return out
}

// results returns the payloads of a session's result events.
func (e *env) results(id string) []session.Result {
	var out []session.Result
	for _, ev := range e.events(id) {
		if ev.Kind == session.KindResult {
			var r session.Result
			json.Unmarshal(ev.Payload, &r)
			out = append(out, r)
		}
	}
	return out
}

// output concatenates a session's output events of a stream ("" for all).
func (e *env) output(id, stream string) string {
	var b strings.Builder
	for _, ev := range e.events(id) {
		if ev.Kind == session.KindOutput {
			var p session.Bytes
			json.Unmarshal(ev.Payload, &p)
			if stream == "" || p.Stream == stream {
				b.Write(p.Data)
			}
		}
	}
	return b.String()
}

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

var _ io.Writer = (*syncBuffer)(nil)

func itoa(n int) string { return strconv.Itoa(n) }

func decode(t *testing.T, ev *session.Event, v any) {
	t.Helper()
	if err := json.Unmarshal(ev.Payload, v); err != nil {
		t.Fatal(err)
	}
}
