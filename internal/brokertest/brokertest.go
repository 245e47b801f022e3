// Package brokertest runs a broker inside a test process, the way hoopctl
// serve runs it, and reads back what it recorded. Every protocol's integration
// tests start their broker with it; what is particular to a protocol (its
// upstream server, its YAML, its stock client) stays in the protocol's tests.
//
// # Starting a broker
//
// Start writes a configuration into a directory — admin.token, holding
// AdminToken, and broker.yaml — loads it as hoopctl would, so that relative
// paths and ${file:NAME} secrets resolve against that directory, starts the
// broker and stops it when the test ends. Run does the same for TestMain,
// where one broker serves a whole package, and at the end checks that every
// session it recorded verifies sealed. YAML wraps a test's connections in the
// configuration every test broker shares. StartHand assembles a broker by
// hand around one connection, recording into a FailingStore, for the tests of
// what a protocol does when its store fails.
//
// # Reading back
//
// A Recording reads sessions and their verified events from a broker's store:
// Broker and Hand embed one. Decode sorts a session's events by kind.
package brokertest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hoophq/hoop/broker"
	"github.com/hoophq/hoop/config"
	"github.com/hoophq/hoop/internal/cli"
	"github.com/hoophq/hoop/internal/server"
	"github.com/hoophq/hoop/session"
	"github.com/hoophq/hoop/store"
)

// AdminToken is the admin API token of every test broker. WriteConfig puts it
// in admin.token beside broker.yaml: configurations name it
// ${file:admin.token}.
const AdminToken = "admin-token"

// hangGuard bounds every wait in this package. It is no performance
// threshold: a healthy run takes a small fraction of it.
const hangGuard = 2 * time.Minute

// logEnv, when set, sends test brokers' debug logs to stderr as they run.
const logEnv = "HOOP_TEST_LOG"

// Logger is the logger of a broker that no single test owns (Run, Hand):
// debug output on stderr when HOOP_TEST_LOG is set, otherwise nothing.
func Logger() *slog.Logger {
	if os.Getenv(logEnv) != "" {
		return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	return slog.New(slog.NewTextHandler(io.Discard, nil))
}

// WriteConfig writes admin.token and yaml as broker.yaml into dir and loads
// that file: relative paths (data_dir: data) and ${file:NAME} secrets resolve
// against dir.
func WriteConfig(dir, yaml string) (*config.Config, error) {
	if err := os.WriteFile(filepath.Join(dir, "admin.token"), []byte(AdminToken+"\n"), 0o600); err != nil {
		return nil, err
	}
	file := filepath.Join(dir, "broker.yaml")
	if err := os.WriteFile(file, []byte(yaml), 0o600); err != nil {
		return nil, err
	}
	cfg, err := config.Load(file)
	if err != nil {
		return nil, fmt.Errorf("%w\n%s", err, yaml)
	}
	return cfg, nil
}

// WriteFile writes body to path, readable by its owner only (a secret beside
// broker.yaml, a client's key), or fails the test.
func WriteFile(t testing.TB, path, body string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(body), 0o600); err != nil {
		t.Fatal(err)
	}
}

// YAML is a test broker's configuration around connections, the YAML list
// items under connections: (indented two spaces): data in data/ beside
// broker.yaml, the admin API on a free loopback port, with AdminToken.
func YAML(connections string) string {
	return `broker:
  id: test-broker
  data_dir: data
admin:
  listen: 127.0.0.1:0
  tokens: ["${file:admin.token}"]
connections:
` + connections
}

// FreeAddrs returns n distinct loopback addresses on ports that were free a
// moment ago, for a configuration with more than one connection: their listen
// addresses must differ, and port 0 twice counts as the same address. It
// panics when the system has no port to give.
func FreeAddrs(n int) []string {
	addrs := make([]string, n)
	for i := range addrs {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			panic(err)
		}
		defer ln.Close() // held until all are picked, so they differ
		addrs[i] = ln.Addr().String()
	}
	return addrs
}

// Broker is a broker running in the test process. The embedded Server is the
// running broker (its Addr, AdminAddr, Store, Broker); it is nil between Stop
// and Restart.
type Broker struct {
	*server.Server
	Recording
	Dir  string // holds broker.yaml, admin.token and the secrets a test wrote
	File string // broker.yaml

	cfg  *config.Config
	log  *slog.Logger
	logs *syncBuffer // the log of a broker started by Start; nil for Run
}

// Start writes yaml into dir (see WriteConfig), starts the broker and stops it
// when the test ends. The broker logs at debug level into Logs, which the test
// prints if it fails (and to stderr with HOOP_TEST_LOG set).
func Start(t testing.TB, dir, yaml string) *Broker {
	t.Helper()
	cfg, err := WriteConfig(dir, yaml)
	if err != nil {
		t.Fatalf("config: %v", err)
	}
	logs := &syncBuffer{}
	var w io.Writer = logs
	if os.Getenv(logEnv) != "" {
		w = io.MultiWriter(logs, os.Stderr)
	}
	b := &Broker{Dir: dir, File: cfg.File, cfg: cfg, logs: logs,
		log: slog.New(slog.NewTextHandler(w, &slog.HandlerOptions{Level: slog.LevelDebug}))}
	if err := b.start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		b.Stop(t)
		if t.Failed() {
			t.Logf("broker log:\n%s", logs)
		}
	})
	return b
}

// Run is a TestMain whose tests share one broker: it starts the broker from
// yaml in a temporary directory of its own, hands it to set, runs the tests,
// then stops the broker, checks that every session it recorded verifies
// sealed, and removes the directory. It returns the code for os.Exit: 1 if
// the broker does not start or a session is not sealed, else m.Run's.
func Run(m *testing.M, yaml string, set func(*Broker)) int {
	b, err := launch(yaml)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	set(b)
	code := m.Run()
	if err := b.finish(); err != nil {
		fmt.Fprintln(os.Stderr, err)
		code = 1
	}
	return code
}

// launch is Start without a test, in a temporary directory of its own.
func launch(yaml string) (*Broker, error) {
	dir, err := os.MkdirTemp("", "hoop-test-")
	if err != nil {
		return nil, err
	}
	cfg, err := WriteConfig(dir, yaml)
	if err != nil {
		os.RemoveAll(dir)
		return nil, fmt.Errorf("config: %w", err)
	}
	b := &Broker{Dir: dir, File: cfg.File, cfg: cfg, log: Logger()}
	if err := b.start(); err != nil {
		os.RemoveAll(dir)
		return nil, err
	}
	return b, nil
}

func (b *Broker) start() error {
	srv, err := server.Start(context.Background(), b.cfg, b.log)
	if err != nil {
		return fmt.Errorf("start broker: %w", err)
	}
	b.Server = srv
	b.Recording = Recording{st: srv.Store, rec: srv.Recorder()}
	return nil
}

// Stop stops the broker, as hoopctl serve does on SIGINT: sessions still
// running are cut and stay unsealed. Stopping a stopped broker does nothing.
func (b *Broker) Stop(t testing.TB) {
	t.Helper()
	if b.Server == nil {
		return
	}
	if err := b.Server.Close(); err != nil {
		t.Errorf("broker close: %v", err)
	}
	b.Server = nil
}

// Restart stops the broker if it runs and starts it again on the same
// configuration and data dir, as a restarted hoopctl serve would.
func (b *Broker) Restart(t testing.TB) {
	t.Helper()
	b.Stop(t)
	if err := b.start(); err != nil {
		t.Fatal(err)
	}
}

// finish stops a broker started by launch, checks that every session it
// recorded verifies sealed, and removes its directory.
func (b *Broker) finish() error {
	var errs []error
	if err := b.Server.Close(); err != nil {
		errs = append(errs, fmt.Errorf("close broker: %w", err))
	}
	b.Server = nil
	errs = append(errs, b.checkSealed())
	errs = append(errs, os.RemoveAll(b.Dir))
	return errors.Join(errs...)
}

// checkSealed reopens the stopped broker's store and verifies every session.
func (b *Broker) checkSealed() error {
	st, err := store.Open(filepath.Join(b.cfg.Broker.DataDir, server.StoreFile), store.Options{ReadOnly: true})
	if err != nil {
		return err
	}
	defer st.Close()
	r := Recording{st: st, rec: b.rec}
	var ids, bad []string
	st.Sessions(func(e store.Entry) bool {
		ids = append(ids, e.ID)
		return true
	})
	for _, id := range ids {
		if rep := r.Verify(id); rep.Status != session.StatusSealed {
			bad = append(bad, rep.String())
		}
	}
	if len(bad) > 0 {
		return fmt.Errorf("%d of %d sessions are not sealed:\n%s", len(bad), len(ids), strings.Join(bad, "\n"))
	}
	fmt.Fprintf(os.Stderr, "all %d recorded sessions verify sealed\n", len(ids))
	return nil
}

// Token issues a broker token for user in groups, valid for an hour.
func (b *Broker) Token(t testing.TB, user string, groups ...string) string {
	t.Helper()
	return issue(t, b.Server.Broker, user, groups)
}

func issue(t testing.TB, b *broker.Broker, user string, groups []string) string {
	t.Helper()
	tok, err := b.Authenticator().Issue(broker.TokenRequest{User: user, Groups: groups, TTL: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

// CA is the listener certificate the broker generated in its data dir: what a
// client trusts to verify the broker.
func (b *Broker) CA() string { return filepath.Join(b.cfg.Broker.DataDir, broker.CertFile) }

// AdminURL is hoopctl's --server for the running broker.
func (b *Broker) AdminURL() string { return "http://" + b.AdminAddr() }

// Hoopctl runs the CLI in process against the broker's admin API, with the
// admin token, and returns what it printed and its exit code.
func (b *Broker) Hoopctl(args ...string) (stdout, stderr string, code int) {
	var out, errb bytes.Buffer
	code = cli.Run(append([]string{"--server", b.AdminURL(), "--admin-token", AdminToken}, args...), &out, &errb)
	return out.String(), errb.String(), code
}

// Logs is what a broker started by Start has logged so far ("" for Run's).
func (b *Broker) Logs() string {
	if b.logs == nil {
		return ""
	}
	return b.logs.String()
}

// syncBuffer is a bytes.Buffer for a logger shared by goroutines.
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
