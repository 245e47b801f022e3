package postgres_test

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

	"github.com/jackc/pgx/v5"

	"github.com/hoophq/hoop/broker"
	"github.com/hoophq/hoop/config"
	"github.com/hoophq/hoop/internal/server"
	"github.com/hoophq/hoop/internal/testenv"
	"github.com/hoophq/hoop/session"
	"github.com/hoophq/hoop/store"
)

// The throwaway Postgres and the broker in front of it, shared by the
// integration tests.
var (
	pg      *testenv.Postgres
	srv     *server.Server
	dataDir string
	pubKey  ed25519.PublicKey
)

// Connections of the test broker.
const (
	connMain   = "pg"        // TLS on, recording capped at 100 rows
	connStrict = "pg-strict" // short handshake timeout, small messages
	connPlain  = "pg-plain"  // tls: off
	connVerify = "pg-verify" // upstream tls: verify-full
	connBadTLS = "pg-badtls" // upstream tls: verify-full against the wrong name
)

func TestMain(m *testing.M) {
	os.Exit(run(m))
}

func run(m *testing.M) int {
	flag.Parse()
	if f := flag.Lookup("test.fuzzworker"); f != nil && f.Value.String() == "true" {
		// A fuzzing worker runs one fuzz target: no servers needed.
		return m.Run()
	}
	var err error
	pg, err = testenv.StartPostgres("")
	if errors.Is(err, testenv.ErrMissing) {
		fmt.Fprintln(os.Stderr, "skipping the postgres protocol tests:", err)
		return 0
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "start postgres:", err)
		return 1
	}
	defer pg.Stop()
	dataDir, err = os.MkdirTemp("", "hoop-pgtest-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer os.RemoveAll(dataDir)
	os.Setenv("HOOP_TEST_ADMIN_TOKEN", "admin-token-for-tests")
	os.Setenv("HOOP_TEST_PG_PASSWORD", pg.Password)
	cfg, err := config.Parse("test.yaml", []byte(testConfig(dataDir, pg.Addr(),
		allListens())))
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

// testConfig is the broker's YAML, with a free port for each connection
// (listens set to "" are picked).
func testConfig(dir, upstream string, listens map[string]string) string {
	used := map[string]bool{}
	for name, l := range listens {
		for l == "" || used[l] {
			port, err := testenv.FreePort()
			if err != nil {
				panic(err)
			}
			l = fmt.Sprintf("127.0.0.1:%d", port)
		}
		used[l] = true
		listens[name] = l
	}
	return fmt.Sprintf(`
broker:
  id: test-broker
  data_dir: %[1]s
admin:
  listen: %[9]s
  tokens: ["${env:HOOP_TEST_ADMIN_TOKEN}"]
connections:
  - name: %[3]s
    protocol: postgres
    listen: %[4]s
    upstream:
      address: %[2]s
      user: app
      password: ${env:HOOP_TEST_PG_PASSWORD}
      database: app
      tls: require
    access:
      groups: [dba, dev]
    recording:
      max_rows: 100
      max_bytes: 64KiB
  - name: %[5]s
    protocol: postgres
    listen: %[6]s
    upstream:
      address: %[2]s
      user: app
      password: ${env:HOOP_TEST_PG_PASSWORD}
      database: app
    access:
      groups: [dba]
    max_message_size: 1MiB
    handshake_timeout: 300ms
  - name: %[7]s
    protocol: postgres
    listen: %[8]s
    tls:
      mode: "off"
    upstream:
      address: %[2]s
      user: app
      password: ${env:HOOP_TEST_PG_PASSWORD}
      database: app
      tls: disable
    access:
      groups: [dba]
  - name: %[10]s
    protocol: postgres
    listen: %[11]s
    upstream:
      address: %[2]s
      user: app
      password: ${env:HOOP_TEST_PG_PASSWORD}
      database: app
      tls: verify-full
      ca: %[14]s
    access:
      groups: [dba]
  - name: %[12]s
    protocol: postgres
    listen: %[13]s
    upstream:
      address: %[2]s
      user: app
      password: ${env:HOOP_TEST_PG_PASSWORD}
      database: app
      tls: verify-full
      ca: %[14]s
      server_name: wrong.example
    access:
      groups: [dba]
`, dir, upstream, connMain, listens[connMain], connStrict, listens[connStrict], connPlain, listens[connPlain], listens["admin"],
		connVerify, listens[connVerify], connBadTLS, listens[connBadTLS], pg.CAFile)
}

// allListens asks testConfig for a free port for every connection.
func allListens() map[string]string {
	return map[string]string{connMain: "", connStrict: "", connPlain: "", connVerify: "", connBadTLS: "", "admin": ""}
}

// testLogger discards the broker's logs unless HOOP_TEST_LOG is set.
func testLogger() *slog.Logger {
	if os.Getenv("HOOP_TEST_LOG") != "" {
		return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	return slog.New(slog.NewTextHandler(io.Discard, nil))
}

// token issues a broker token for user in groups.
func token(t testing.TB, user string, groups ...string) string {
	t.Helper()
	tok, err := srv.Broker.Authenticator().Issue(broker.TokenRequest{User: user, Groups: groups, TTL: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

// dsn is a libpq connection string to a broker connection.
func dsn(conn, user, sslmode string) string { return dsnAddr(srv.Addr(conn), user, sslmode) }

// dsnAddr is a libpq connection string to a listener at addr.
func dsnAddr(addr, user, sslmode string) string {
	host, port, _ := strings.Cut(addr, ":")
	return fmt.Sprintf("host=%s port=%s user=%s dbname=app sslmode=%s connect_timeout=10", host, port, user, sslmode)
}

// psqlCmd prepares stock psql against a broker connection, with the token as
// the password.
func psqlCmd(ctx context.Context, conn, user, tok, sslmode string, args ...string) *exec.Cmd {
	return psqlAddr(ctx, srv.Addr(conn), user, tok, sslmode, args...)
}

// psqlAddr prepares stock psql against a listener at addr.
func psqlAddr(ctx context.Context, addr, user, tok, sslmode string, args ...string) *exec.Cmd {
	all := append([]string{"-X", "-A", "-t", "-d", dsnAddr(addr, user, sslmode)}, args...)
	cmd := exec.CommandContext(ctx, "psql", all...)
	cmd.Env = []string{"PATH=" + os.Getenv("PATH"), "PGPASSWORD=" + tok, "LC_ALL=C", "HOME=" + os.TempDir()}
	return cmd
}

// psql runs psql and returns its combined output.
func psql(t testing.TB, user, tok string, args ...string) (string, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	out, err := psqlCmd(ctx, connMain, user, tok, "require", args...).CombinedOutput()
	return string(out), err
}

// mustPsql runs psql and fails the test if it fails.
func mustPsql(t testing.TB, user, tok string, args ...string) string {
	t.Helper()
	out, err := psql(t, user, tok, args...)
	if err != nil {
		t.Fatalf("psql %q: %v\n%s", args, err, out)
	}
	return out
}

// connect opens a pgx connection through the broker.
func connect(t testing.TB, conn, user string, groups ...string) *pgx.Conn {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	c, err := pgx.Connect(ctx, dsn(conn, user, "require")+" password="+token(t, user, groups...))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close(context.Background()) })
	return c
}

// sessionsOf waits until n sessions of the named startup user have ended and
// returns them, oldest first.
func sessionsOf(t testing.TB, st sessionLister, user string, n int) []session.Info {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for {
		var ended, all []session.Info
		err := st.Sessions(func(e store.Entry) bool {
			var info session.Info
			if json.Unmarshal(e.Data, &info) == nil && info.Meta["user"] == user {
				all = append(all, info)
				if info.Outcome != "" {
					ended = append(ended, info)
				}
			}
			return true
		})
		if err != nil {
			t.Fatal(err)
		}
		if len(ended) >= n {
			// Sessions lists newest first.
			for i, j := 0, len(ended)-1; i < j; i, j = i+1, j-1 {
				ended[i], ended[j] = ended[j], ended[i]
			}
			return ended
		}
		if time.Now().After(deadline) {
			t.Fatalf("sessions of %q: %d ended of %d; want %d ended", user, len(ended), len(all), n)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

type sessionLister interface {
	Sessions(fn func(e store.Entry) bool) error
}

type recordReader interface {
	Records(id string, after uint64, fn func(r store.Record) bool) error
}

// events reads a session's events back, checks that its chain verifies and
// that it is sealed by the test broker.
func events(t testing.TB, st recordReader, id string) []*session.Event {
	t.Helper()
	return eventsSealedBy(t, st, id, pubKey)
}

// eventsSealedBy is events for a session sealed with key.
func eventsSealedBy(t testing.TB, st recordReader, id string, key ed25519.PublicKey) []*session.Event {
	t.Helper()
	c := session.NewChain(id, key)
	var out []*session.Event
	var addErr error
	err := st.Records(id, 0, func(r store.Record) bool {
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
	order    []uint64 // command seqs in order
	results  []session.Result
	policies []session.Decision
	errors   []session.Error
	end      session.End
}

func decode(t testing.TB, evs []*session.Event) *recorded {
	t.Helper()
	r := &recorded{commands: map[uint64]session.Command{}}
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
		case session.KindError:
			var e session.Error
			err = json.Unmarshal(ev.Payload, &e)
			r.errors = append(r.errors, e)
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
	infos := sessionsOf(t, srv.Store, user, 1)
	if len(infos) != 1 {
		t.Fatalf("user %s has %d sessions; want 1", user, len(infos))
	}
	return infos[0], decode(t, events(t, srv.Store, infos[0].ID))
}

// commandsOf returns the commands of a type, in order.
func (r *recorded) commandsOf(typ string) []session.Command {
	var out []session.Command
	for _, seq := range r.order {
		if c := r.commands[seq]; c.Type == typ {
			out = append(out, c)
		}
	}
	return out
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
