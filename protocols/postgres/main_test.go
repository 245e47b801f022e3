package postgres_test

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/hoophq/hoop/internal/brokertest"
	"github.com/hoophq/hoop/internal/testenv"
	"github.com/hoophq/hoop/session"
)

// The throwaway Postgres and the broker in front of it, shared by the
// integration tests.
var (
	pg  *testenv.Postgres
	srv *brokertest.Broker
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
	os.Setenv("HOOP_TEST_PG_PASSWORD", pg.Password)
	return brokertest.Run(m, testConfig(), func(b *brokertest.Broker) { srv = b })
}

// testConfig is the broker's YAML: every connection in front of pg, on a
// free port of its own.
func testConfig() string {
	listen := brokertest.FreeAddrs(5)
	return brokertest.YAML(fmt.Sprintf(`  - name: %[2]s
    protocol: postgres
    listen: %[8]s
    upstream:
      address: %[1]s
      user: app
      password: ${env:HOOP_TEST_PG_PASSWORD}
      database: app
      tls: require
    access:
      groups: [dba, dev]
    recording:
      max_rows: 100
      max_bytes: 64KiB
  - name: %[3]s
    protocol: postgres
    listen: %[9]s
    upstream:
      address: %[1]s
      user: app
      password: ${env:HOOP_TEST_PG_PASSWORD}
      database: app
    access:
      groups: [dba]
    max_message_size: 1MiB
    handshake_timeout: 300ms
  - name: %[4]s
    protocol: postgres
    listen: %[10]s
    tls:
      mode: "off"
    upstream:
      address: %[1]s
      user: app
      password: ${env:HOOP_TEST_PG_PASSWORD}
      database: app
      tls: disable
    access:
      groups: [dba]
  - name: %[5]s
    protocol: postgres
    listen: %[11]s
    upstream:
      address: %[1]s
      user: app
      password: ${env:HOOP_TEST_PG_PASSWORD}
      database: app
      tls: verify-full
      ca: %[7]s
    access:
      groups: [dba]
  - name: %[6]s
    protocol: postgres
    listen: %[12]s
    upstream:
      address: %[1]s
      user: app
      password: ${env:HOOP_TEST_PG_PASSWORD}
      database: app
      tls: verify-full
      ca: %[7]s
      server_name: wrong.example
    access:
      groups: [dba]
`, pg.Addr(), connMain, connStrict, connPlain, connVerify, connBadTLS, pg.CAFile,
		listen[0], listen[1], listen[2], listen[3], listen[4]))
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
	c, err := pgx.Connect(ctx, dsn(conn, user, "require")+" password="+srv.Token(t, user, groups...))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close(context.Background()) })
	return c
}

// sessionRecord waits for the one ended session of the startup user and
// decodes it; it must verify sealed.
func sessionRecord(t testing.TB, user string) (session.Info, *brokertest.Recorded) {
	t.Helper()
	return srv.OneSession(t, brokertest.ByClientUser(user))
}
