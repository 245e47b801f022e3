// Package e2e runs the hoopctl binary as a user would: a broker process in front
// of a throwaway Postgres, driven by real clients and by hoopctl itself.
package e2e

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/hoophq/hoop/internal/testenv"
)

var hoopctl string // built once by TestMain

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "hoop-e2e-bin-")
	if err != nil {
		panic(err)
	}
	hoopctl = filepath.Join(dir, "hoopctl")
	build := exec.Command("go", "build", "-race", "-o", hoopctl, "github.com/hoophq/hoop/cmd/hoopctl")
	if out, err := build.CombinedOutput(); err != nil {
		fmt.Fprintf(os.Stderr, "build hoopctl: %v\n%s", err, out)
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// brokerProc is a `hoopctl serve` process.
type brokerProc struct {
	t      *testing.T
	cfg    string
	dir    string
	pgPort int
	cmd    *exec.Cmd
	done   chan error
}

// newBroker writes a config for one Postgres connection in front of pg.
func newBroker(t *testing.T, pg *testenv.Postgres) *brokerProc {
	t.Helper()
	dir := t.TempDir()
	pgPort, _ := testenv.FreePort()
	admin, _ := testenv.FreePort()
	os.WriteFile(filepath.Join(dir, "admin.token"), []byte("e2e-admin-token\n"), 0o600)
	os.WriteFile(filepath.Join(dir, "pg.password"), []byte(pg.Password+"\n"), 0o600)
	cfg := fmt.Sprintf(`broker:
  data_dir: data
admin:
  listen: 127.0.0.1:%d
  tokens:
    - ${file:admin.token}
connections:
  - name: pg
    protocol: postgres
    listen: 127.0.0.1:%d
    upstream:
      address: %s
      user: %s
      password: ${file:pg.password}
      database: %s
      tls: require
    access:
      groups: [dba]
`, admin, pgPort, pg.Addr(), pg.User, pg.Database)
	path := filepath.Join(dir, "broker.yaml")
	if err := os.WriteFile(path, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	return &brokerProc{t: t, cfg: path, dir: dir, pgPort: pgPort}
}

func (b *brokerProc) start() {
	b.t.Helper()
	b.cmd = exec.Command(hoopctl, "serve", "--config", b.cfg)
	log, err := os.OpenFile(filepath.Join(b.dir, "broker.log"), os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o600)
	if err != nil {
		b.t.Fatal(err)
	}
	b.cmd.Stdout, b.cmd.Stderr = log, log
	if err := b.cmd.Start(); err != nil {
		b.t.Fatal(err)
	}
	b.done = make(chan error, 1)
	go func() { b.done <- b.cmd.Wait(); log.Close() }()
	if err := testenv.WaitPort(fmt.Sprintf("127.0.0.1:%d", b.pgPort), 60*time.Second, b.done); err != nil {
		out, _ := os.ReadFile(filepath.Join(b.dir, "broker.log"))
		b.t.Fatalf("broker: %v\n%s", err, out)
	}
	b.t.Cleanup(b.stop)
}

func (b *brokerProc) stop() {
	if b.cmd == nil || b.cmd.ProcessState != nil {
		return
	}
	b.cmd.Process.Signal(os.Interrupt)
	select {
	case <-b.done:
	case <-time.After(30 * time.Second):
		b.cmd.Process.Kill()
		<-b.done
	}
}

// ctl runs hoopctl against this broker and returns stdout, stderr and the exit code.
func (b *brokerProc) ctl(args ...string) (string, string, int) {
	b.t.Helper()
	cmd := exec.Command(hoopctl, append([]string{"--config", b.cfg}, args...)...)
	var out, errb strings.Builder
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	code := 0
	if ee, ok := err.(*exec.ExitError); ok {
		code = ee.ExitCode()
	} else if err != nil {
		b.t.Fatal(err)
	}
	return out.String(), errb.String(), code
}

func (b *brokerProc) token(user string, groups ...string) string {
	b.t.Helper()
	out, errOut, code := b.ctl("token", "issue", "--user", user, "--groups", strings.Join(groups, ","), "--ttl", "1h")
	if code != 0 {
		b.t.Fatalf("token issue: exit %d: %s", code, errOut)
	}
	return strings.TrimSpace(out)
}

func (b *brokerProc) dsn(user, token string) string {
	return fmt.Sprintf("host=127.0.0.1 port=%d user=%s password=%s dbname=app sslmode=require", b.pgPort, user, token)
}

func startPostgres(t *testing.T) *testenv.Postgres {
	t.Helper()
	pg, err := testenv.StartPostgres("")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(pg.Stop)
	return pg
}

func bg() context.Context { return context.Background() }
