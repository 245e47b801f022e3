package mysql_test

import (
	"context"
	"crypto/ed25519"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/hoophq/hoop/broker"
	"github.com/hoophq/hoop/config"
	"github.com/hoophq/hoop/internal/server"
	"github.com/hoophq/hoop/internal/testenv"
	"github.com/hoophq/hoop/session"
	"github.com/hoophq/hoop/store"
)

// The throwaway MariaDB and the broker in front of it, shared by the
// integration tests.
var (
	db      *testenv.MariaDB
	srv     *server.Server
	dataDir string
	pubKey  ed25519.PublicKey
)

// Connections of the test broker.
const (
	connMain   = "my"        // TLS on, recording capped at 100 rows
	connStrict = "my-strict" // short handshake timeout, 1KiB messages
	connPlain  = "my-plain"  // tls: off, LOAD DATA LOCAL allowed
)

func TestMain(m *testing.M) { os.Exit(run(m)) }

func run(m *testing.M) int {
	flag.Parse()
	if f := flag.Lookup("test.fuzzworker"); f != nil && f.Value.String() == "true" {
		return m.Run() // a fuzzing worker needs no servers
	}
	if f := flag.Lookup("test.fuzz"); f != nil && f.Value.String() != "" {
		return m.Run() // nor does its coordinator
	}
	if testing.Short() {
		return m.Run() // the integration tests skip themselves
	}
	var err error
	db, err = testenv.StartMariaDB("")
	if errors.Is(err, testenv.ErrMissing) {
		fmt.Fprintln(os.Stderr, "skipping the mysql protocol tests:", err)
		return 0
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "start mariadb:", err)
		return 1
	}
	defer db.Stop()
	if dataDir, err = os.MkdirTemp("", "hoop-mysqltest-"); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer os.RemoveAll(dataDir)
	os.Setenv("HOOP_TEST_ADMIN_TOKEN", "admin-token-for-tests")
	os.Setenv("HOOP_TEST_MYSQL_PASSWORD", db.Password)
	cfg, err := config.Parse("test.yaml", []byte(testConfig(dataDir, db.Addr())))
	if err != nil {
		fmt.Fprintln(os.Stderr, "config:", err)
		return 1
	}
	srv, err = server.Start(context.Background(), cfg, testLogger())
	if err != nil {
		fmt.Fprintln(os.Stderr, "start broker:", err)
		return 1
	}
	pubKey = srv.Recorder().PublicKey()
	code := m.Run()
	if err := srv.Close(); err != nil {
		fmt.Fprintln(os.Stderr, "close broker:", err)
		code = 1
	}
	if err := verifyAllSealed(filepath.Join(dataDir, server.StoreFile)); err != nil {
		fmt.Fprintln(os.Stderr, err)
		code = 1
	}
	return code
}

func freeAddr() string {
	port, err := testenv.FreePort()
	if err != nil {
		panic(err)
	}
	return fmt.Sprintf("127.0.0.1:%d", port)
}

// testConfig is the broker's YAML, with a free port for each listener.
func testConfig(dir, upstream string) string {
	return fmt.Sprintf(`
broker:
  id: test-broker
  data_dir: %[1]s
admin:
  listen: %[3]s
  tokens: ["${env:HOOP_TEST_ADMIN_TOKEN}"]
connections:
  - name: my
    protocol: mysql
    listen: %[4]s
    upstream:
      address: %[2]s
      user: app
      password: ${env:HOOP_TEST_MYSQL_PASSWORD}
      database: app
      tls: require
    access:
      groups: [dba, dev]
    recording:
      max_rows: 100
      max_bytes: 64KiB
  - name: my-strict
    protocol: mysql
    listen: %[5]s
    upstream:
      address: %[2]s
      user: app
      password: ${env:HOOP_TEST_MYSQL_PASSWORD}
      database: app
    access:
      groups: [dba]
    max_message_size: 1KiB
    handshake_timeout: 500ms
  - name: my-plain
    protocol: mysql
    listen: %[6]s
    tls:
      mode: "off"
    mysql:
      local_infile: true
    upstream:
      address: %[2]s
      user: app
      password: ${env:HOOP_TEST_MYSQL_PASSWORD}
      database: app
      tls: disable
    access:
      groups: [dba]
`, dir, upstream, freeAddr(), freeAddr(), freeAddr(), freeAddr())
}

// testLogger discards the broker's logs unless HOOP_TEST_LOG is set.
func testLogger() *slog.Logger {
	if os.Getenv("HOOP_TEST_LOG") != "" {
		return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	return slog.New(slog.NewTextHandler(io.Discard, nil))
}

func integration(t testing.TB) {
	t.Helper()
	if srv == nil {
		t.Skip("integration test: needs MariaDB (skipped with -short)")
	}
}

// token issues a broker token for user in groups.
func token(t testing.TB, user string, groups ...string) string {
	t.Helper()
	integration(t)
	tok, err := srv.Broker.Authenticator().Issue(broker.TokenRequest{User: user, Groups: groups, TTL: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

// mariadbCmd prepares the stock mariadb client against a broker connection,
// logging in as user with the token as its password over TLS with the
// clear-text plugin the broker switches it to — what the README tells users
// to type. (MariaDB clients allow the plugin without a flag: their
// --enable-cleartext-plugin is obsolete and only warns.)
func mariadbCmd(ctx context.Context, conn, user, tok string, args ...string) *exec.Cmd {
	host, port, _ := strings.Cut(srv.Addr(conn), ":")
	all := append([]string{"--no-defaults", "-h", host, "-P", port, "-u", user, "--password=" + tok,
		"--connect-timeout=10", "-D", "app"}, args...)
	if conn != connPlain {
		all = append([]string{all[0], "--ssl"}, all[1:]...)
	} else {
		all = append([]string{all[0], "--skip-ssl"}, all[1:]...)
	}
	cmd := exec.CommandContext(ctx, "mariadb", all...)
	cmd.Env = []string{"PATH=" + os.Getenv("PATH"), "LC_ALL=C", "HOME=" + os.TempDir()}
	return cmd
}

// mariadb runs the client in batch mode and returns its combined output.
func mariadb(t testing.TB, conn, user, tok string, args ...string) (string, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	out, err := mariadbCmd(ctx, conn, user, tok, args...).CombinedOutput()
	return string(out), err
}

// mustMariadb runs the client and fails the test if it fails.
func mustMariadb(t testing.TB, conn, user, tok string, args ...string) string {
	t.Helper()
	out, err := mariadb(t, conn, user, tok, args...)
	if err != nil {
		t.Fatalf("mariadb %q: %v\n%s", args, err, out)
	}
	return out
}

// sessionsOf waits until n sessions of the named client user have ended and
// returns them, oldest first.
func sessionsOf(t testing.TB, user string, n int) []session.Info {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for {
		var ended []session.Info
		err := srv.Store.Sessions(func(e store.Entry) bool {
			var info session.Info
			if json.Unmarshal(e.Data, &info) == nil && info.Meta["user"] == user && info.Outcome != "" {
				ended = append(ended, info)
			}
			return true
		})
		if err != nil {
			t.Fatal(err)
		}
		if len(ended) >= n {
			for i, j := 0, len(ended)-1; i < j; i, j = i+1, j-1 {
				ended[i], ended[j] = ended[j], ended[i]
			}
			return ended
		}
		if time.Now().After(deadline) {
			t.Fatalf("sessions of %q: %d ended; want %d", user, len(ended), n)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// events reads a session's events back and checks that its chain verifies
// and that it is sealed by the test broker.
func events(t testing.TB, id string) []*session.Event {
	t.Helper()
	c := session.NewChain(id, pubKey)
	var out []*session.Event
	var addErr error
	err := srv.Store.Records(id, 0, func(r store.Record) bool {
		ev, err := c.Add(r.Seq, r.Data)
		if err != nil {
			addErr = err
			return false
		}
		out = append(out, ev)
		return true
	})
	if err != nil || addErr != nil {
		t.Fatalf("session %s: %v %v", id, err, addErr)
	}
	if r := c.Report(); r.Status != session.StatusSealed {
		t.Fatalf("session %s: %v; want sealed", id, r)
	}
	return out
}

// recorded is a session's events decoded.
type recorded struct {
	commands map[uint64]session.Command
	order    []uint64
	results  []session.Result
	policies []session.Decision
	end      session.End
	raw      []*session.Event
}

func decode(t testing.TB, evs []*session.Event) *recorded {
	t.Helper()
	r := &recorded{commands: map[uint64]session.Command{}, raw: evs}
	for _, ev := range evs {
		var err error
		switch ev.Kind {
		case session.KindCommand:
			var c session.Command
			err = json.Unmarshal(ev.Payload, &c)
			r.commands[ev.Seq] = c
			r.order = append(r.order, ev.Seq)
		case session.KindResult:
			var res session.Result
			err = json.Unmarshal(ev.Payload, &res)
			r.results = append(r.results, res)
		case session.KindPolicy:
			var d session.Decision
			err = json.Unmarshal(ev.Payload, &d)
			r.policies = append(r.policies, d)
		case session.KindEnd:
			err = json.Unmarshal(ev.Payload, &r.end)
		}
		if err != nil {
			t.Fatalf("event %d (%s): %v", ev.Seq, ev.Kind, err)
		}
	}
	return r
}

// sessionRecord waits for the one ended session of user and decodes it.
func sessionRecord(t testing.TB, user string) (session.Info, *recorded) {
	t.Helper()
	infos := sessionsOf(t, user, 1)
	if len(infos) != 1 {
		t.Fatalf("user %s has %d sessions; want 1", user, len(infos))
	}
	return infos[0], decode(t, events(t, infos[0].ID))
}

// seqOf returns the seq of the first command whose text contains s.
func (r *recorded) seqOf(t testing.TB, s string) uint64 {
	t.Helper()
	for _, seq := range r.order {
		if strings.Contains(r.commands[seq].Text, s) {
			return seq
		}
	}
	t.Fatalf("no command contains %q in %v", s, r.commands)
	return 0
}

// resultsOf returns the results that answer command seq.
func (r *recorded) resultsOf(seq uint64) []session.Result {
	var out []session.Result
	for _, res := range r.results {
		if res.Command == seq {
			out = append(out, res)
		}
	}
	return out
}

// verifyAllSealed checks every session in the store at path.
func verifyAllSealed(path string) error {
	st, err := store.Open(path, store.Options{ReadOnly: true})
	if err != nil {
		return err
	}
	defer st.Close()
	var ids []string
	st.Sessions(func(e store.Entry) bool {
		ids = append(ids, e.ID)
		return true
	})
	var bad []string
	for _, id := range ids {
		c := session.NewChain(id, pubKey)
		st.Records(id, 0, func(r store.Record) bool {
			c.Add(r.Seq, r.Data)
			return true
		})
		if r := c.Report(); r.Status != session.StatusSealed {
			bad = append(bad, r.String())
		}
	}
	if len(bad) > 0 {
		return fmt.Errorf("%d of %d sessions are not sealed:\n%s", len(bad), len(ids), strings.Join(bad, "\n"))
	}
	fmt.Fprintf(os.Stderr, "all %d recorded sessions verify sealed\n", len(ids))
	return nil
}

func str(v session.Value) string {
	if v == nil {
		return "NULL"
	}
	return *v
}
