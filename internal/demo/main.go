// Command demo starts a throwaway Postgres and the broker in front of it, makes
// one recorded session, and prints what to type next. `make demo` runs it; Ctrl-C
// stops everything.
package main

import (
	"bytes"
	"context"
	"crypto/rand"
	"fmt"
	"net"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/hoophq/hoop/internal/testenv"
)

const dir = ".demo"

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "demo:", err)
		os.Exit(1)
	}
}

func run() error {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	hoopctl, err := filepath.Abs("bin/hoopctl")
	if err != nil {
		return err
	}
	if _, err := os.Stat(hoopctl); err != nil {
		return fmt.Errorf("%s is missing: run `make build` first", hoopctl)
	}
	os.RemoveAll(dir)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return err
	}
	abs, _ := filepath.Abs(dir)

	fmt.Println("Starting a throwaway PostgreSQL...")
	pg, err := testenv.StartPostgres("")
	if err != nil {
		return err
	}
	defer pg.Stop()

	pgPort := freePort(15432)
	must(os.WriteFile(filepath.Join(dir, "admin.token"), []byte(rand.Text()+"\n"), 0o600))
	must(os.WriteFile(filepath.Join(dir, "pg.password"), []byte(pg.Password+"\n"), 0o600))
	must(os.WriteFile(filepath.Join(dir, "upstream-ca.crt"), pg.CACert, 0o644))
	cfg := fmt.Sprintf(`# The demo broker: one Postgres connection in front of a throwaway server.
broker:
  data_dir: data
admin:
  listen: 127.0.0.1:%d
  tokens:
    - ${file:admin.token}
connections:
  - name: pg-demo
    protocol: postgres
    listen: 127.0.0.1:%d
    upstream:
      address: %s
      user: %s
      password: ${file:pg.password}
      database: %s
      tls: verify-full
      ca: upstream-ca.crt
    access:
      groups: [dba]
`, freePort(8009), pgPort, pg.Addr(), pg.User, pg.Database)
	cfgPath := filepath.Join(abs, "broker.yaml")
	must(os.WriteFile(cfgPath, []byte(cfg), 0o600))

	fmt.Println("Starting the broker...")
	logf, err := os.Create(filepath.Join(dir, "broker.log"))
	if err != nil {
		return err
	}
	defer logf.Close()
	srv := exec.Command(hoopctl, "serve", "--config", cfgPath)
	srv.Stdout, srv.Stderr = logf, logf
	if err := srv.Start(); err != nil {
		return err
	}
	exited := make(chan error, 1)
	go func() { exited <- srv.Wait() }()
	defer func() {
		srv.Process.Signal(os.Interrupt)
		select {
		case <-exited:
		case <-time.After(10 * time.Second):
			srv.Process.Kill()
		}
	}()
	addr := fmt.Sprintf("127.0.0.1:%d", pgPort)
	if err := testenv.WaitPort(addr, 10*time.Second, exited); err != nil {
		log, _ := os.ReadFile(filepath.Join(dir, "broker.log"))
		return fmt.Errorf("broker did not start: %v\n%s", err, log)
	}

	ctl := func(args ...string) (string, error) {
		out, err := exec.Command(hoopctl, append([]string{"--config", cfgPath}, args...)...).CombinedOutput()
		return strings.TrimSpace(string(out)), err
	}
	token, err := ctl("token", "issue", "--user", "demo", "--groups", "dba", "--ttl", "8h")
	if err != nil {
		return fmt.Errorf("token issue: %v: %s", err, token)
	}
	must(os.WriteFile(filepath.Join(dir, "token"), []byte(token+"\n"), 0o600))

	// One session of our own, so there is something to replay right away.
	conninfo := fmt.Sprintf("host=127.0.0.1 port=%d user=demo dbname=app sslmode=require", pgPort)
	psql := exec.Command("psql", conninfo, "-X", "-v", "ON_ERROR_STOP=1",
		"-c", "CREATE TABLE IF NOT EXISTS pets (id int PRIMARY KEY, name text, owner text DEFAULT current_setting('hoop.user'))",
		"-c", "INSERT INTO pets (id, name) VALUES (1, 'Rex'), (2, 'Tom') ON CONFLICT DO NOTHING",
		"-c", "SELECT * FROM pets ORDER BY id")
	psql.Env = append(os.Environ(), "PGPASSWORD="+token)
	var out bytes.Buffer
	psql.Stdout, psql.Stderr = &out, &out
	if err := psql.Run(); err != nil {
		return fmt.Errorf("psql through the broker: %v\n%s", err, out.String())
	}
	last, _ := ctl("sessions")

	rel := func(p string) string { r, _ := filepath.Rel(".", p); return r }
	fmt.Printf(`
hoop is running: Postgres connection "pg-demo" on %s (TLS, self-signed), admin API on its loopback port.
A first session was recorded:

%s

Connect with psql — the password is your hoop token (user "demo", group "dba"):

  PGPASSWORD=$(cat %s/token) psql "%s"

Try:  SELECT * FROM pets;   SELECT current_setting('hoop.user');   SET hoop.user = 'mallory';

Then look at the trail:

  bin/hoopctl --config %s sessions
  bin/hoopctl --config %s replay latest
  bin/hoopctl --config %s verify --all

Broker log: %s/broker.log. Ctrl-C stops the broker and the database.
`, addr, indent(last), dir, conninfo, rel(cfgPath), rel(cfgPath), rel(cfgPath), dir)

	select {
	case <-ctx.Done():
		fmt.Println("\nstopping...")
	case err := <-exited:
		return fmt.Errorf("broker exited: %v (see %s/broker.log)", err, dir)
	}
	return nil
}

func indent(s string) string { return "  " + strings.ReplaceAll(s, "\n", "\n  ") }

func must(err error) {
	if err != nil {
		fmt.Fprintln(os.Stderr, "demo:", err)
		os.Exit(1)
	}
}

// freePort returns want when it is free, another free port otherwise.
func freePort(want int) int {
	if ln, err := net.Listen("tcp", fmt.Sprintf("127.0.0.1:%d", want)); err == nil {
		ln.Close()
		return want
	}
	p, _ := testenv.FreePort()
	return p
}
