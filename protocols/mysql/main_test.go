package mysql_test

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

	"github.com/hoophq/hoop/internal/brokertest"
	"github.com/hoophq/hoop/internal/testenv"
	"github.com/hoophq/hoop/session"
)

// The throwaway MariaDB and the broker in front of it, shared by the
// integration tests.
var (
	db  *testenv.MariaDB
	srv *brokertest.Broker
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
	os.Setenv("HOOP_TEST_MYSQL_PASSWORD", db.Password)
	return brokertest.Run(m, testConfig(db.Addr()), func(b *brokertest.Broker) { srv = b })
}

// testConfig is the broker's YAML: every connection in front of upstream,
// on a free port of its own.
func testConfig(upstream string) string {
	listen := brokertest.FreeAddrs(3)
	return brokertest.YAML(fmt.Sprintf(`  - name: my
    protocol: mysql
    listen: %[2]s
    upstream:
      address: %[1]s
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
    listen: %[3]s
    upstream:
      address: %[1]s
      user: app
      password: ${env:HOOP_TEST_MYSQL_PASSWORD}
      database: app
    access:
      groups: [dba]
    max_message_size: 1KiB
    handshake_timeout: 500ms
  - name: my-plain
    protocol: mysql
    listen: %[4]s
    tls:
      mode: "off"
    mysql:
      local_infile: true
    upstream:
      address: %[1]s
      user: app
      password: ${env:HOOP_TEST_MYSQL_PASSWORD}
      database: app
      tls: disable
    access:
      groups: [dba]
`, upstream, listen[0], listen[1], listen[2]))
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
	return srv.Token(t, user, groups...)
}

// mariadbCmd prepares the stock mariadb client against a broker connection,
// logging in as user with the token as its password over TLS with the
// clear-text plugin the broker switches it to — what the README tells users
// to type. (MariaDB clients allow the plugin without a flag: their
// --enable-cleartext-plugin is obsolete and only warns.)
func mariadbCmd(ctx context.Context, conn, user, tok string, args ...string) *exec.Cmd {
	return mariadbAddrCmd(ctx, srv.Addr(conn), conn != connPlain, user, tok, args...)
}

// mariadbAddrCmd is mariadbCmd against the listener at addr, over TLS when
// useTLS.
func mariadbAddrCmd(ctx context.Context, addr string, useTLS bool, user, tok string, args ...string) *exec.Cmd {
	host, port, _ := strings.Cut(addr, ":")
	all := append([]string{"--no-defaults", "-h", host, "-P", port, "-u", user, "--password=" + tok,
		"--connect-timeout=10", "-D", "app"}, args...)
	if useTLS {
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

// waitRunning waits until the upstream runs query, which a client whose
// output is out sent.
func waitRunning(t testing.TB, query string, out fmt.Stringer) {
	t.Helper()
	for deadline := time.Now().Add(20 * time.Second); ; {
		rows, err := db.Query("SELECT ID FROM information_schema.PROCESSLIST WHERE INFO = '" + query + "'")
		if err != nil {
			t.Fatal(err)
		}
		if len(rows) == 1 {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%q never ran upstream; client output %q", query, out.String())
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// sessionRecord waits for the one ended session of the client user and
// decodes it; it must verify sealed.
func sessionRecord(t testing.TB, user string) (session.Info, *brokertest.Recorded) {
	t.Helper()
	return srv.OneSession(t, brokertest.ByClientUser(user))
}

func str(v session.Value) string {
	if v == nil {
		return "NULL"
	}
	return *v
}
