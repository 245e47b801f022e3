// Command demo starts throwaway upstreams — PostgreSQL, MariaDB, OpenSSH, a
// Kubernetes control plane and a small HTTP service — and one broker in front
// of them, makes one recorded session, and prints what to type next. `make
// demo` runs it; Ctrl-C stops everything. An upstream whose server is missing
// is skipped with a note (PostgreSQL is required); DEMO_KUBE=0 skips
// Kubernetes.
package main

import (
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

	"github.com/hoophq/hoop/config"
	"github.com/hoophq/hoop/internal/testenv"
)

const (
	dir   = ".demo"
	group = "dba" // the demo user's group; every connection admits it
)

// A starter starts one protocol's upstream. It returns the connection to
// append under connections: in broker.yaml, hint, which — once the broker
// runs and dir/token holds the user's token — prepares the client side and
// returns the lines to type, and stop, which removes the upstream.
type starter func(dir, group string) (conn string, hint func() string, stop func(), err error)

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "demo:", err)
		os.Exit(1)
	}
}

func run() error {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if _, err := os.Stat(hoopctlBin); err != nil {
		return fmt.Errorf("%s is missing: run `make build` first", hoopctlBin)
	}
	os.RemoveAll(dir)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(dir, "admin.token"), []byte(rand.Text()+"\n"), 0o600); err != nil {
		return err
	}

	var conns []string
	var hints []func() string
	for _, p := range []struct {
		name     string
		start    starter
		required bool
	}{
		{"PostgreSQL", postgresDemo, true},
		{"MariaDB", mysqlDemo, false},
		{"OpenSSH", sshDemo, false},
		{"Kubernetes", kubeDemo, false},
		{"HTTP", httpDemo, false},
	} {
		conn, hint, stopUp, err := p.start(dir, group)
		if ctx.Err() != nil {
			if err == nil {
				stopUp()
			}
			return nil // Ctrl-C while starting: the deferred stops clean up
		}
		if err != nil {
			if p.required {
				return err
			}
			fmt.Printf("  %s skipped: %s\n", p.name, firstLine(err))
			continue
		}
		defer stopUp()
		conns, hints = append(conns, conn), append(hints, hint)
	}

	cfg := fmt.Sprintf(`# The demo broker: one connection per protocol, each in front of a throwaway server.
broker:
  data_dir: data
admin:
  listen: 127.0.0.1:%d
  tokens:
    - ${file:admin.token}
connections:
%s`, freePort(8009), strings.Join(conns, ""))
	if err := os.WriteFile(cfgPath(), []byte(cfg), 0o600); err != nil {
		return err
	}
	parsed, err := config.Load(cfgPath())
	if err != nil {
		return err
	}

	fmt.Println("Starting the broker...")
	logf, err := os.Create(filepath.Join(dir, "broker.log"))
	if err != nil {
		return err
	}
	defer logf.Close()
	srv := exec.Command(hoopctlBin, "serve", "--config", cfgPath())
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
	for _, addr := range append([]string{parsed.Admin.Listen}, listens(parsed)...) {
		if err := testenv.WaitPort(addr, 15*time.Second, exited); err != nil {
			log, _ := os.ReadFile(filepath.Join(dir, "broker.log"))
			return fmt.Errorf("broker did not start: %v\n%s", err, log)
		}
	}
	token, err := hoopctl("token", "issue", "--user", "demo", "--groups", group, "--ttl", "8h")
	if err != nil {
		return fmt.Errorf("token issue: %v: %s", err, token)
	}
	if err := os.WriteFile(filepath.Join(dir, "token"), []byte(token+"\n"), 0o600); err != nil {
		return err
	}

	var b strings.Builder
	for _, hint := range hints {
		b.WriteString("\n" + hint() + "\n")
	}
	sessions, _ := hoopctl("sessions")
	cfgRel := filepath.Join(dir, "broker.yaml")
	fmt.Printf(`
hoop is running: one broker (%s serve --config %s), admin API on %s.
Every client below logs in with your hoop token — user "demo", group %q, valid 8h — from %s/token;
the upstream credentials stay in the broker.
%s
The demo recorded a first session of its own:

%s

Look at the trail — every protocol's sessions, in one hash-chained store:

  %s --config %s sessions
  %s --config %s replay latest
  %s --config %s verify --all

Broker log: %s/broker.log. Ctrl-C stops the broker and every upstream.
`, hoopctlBin, cfgRel, parsed.Admin.Listen, group, dir, b.String(), indent(sessions),
		hoopctlBin, cfgRel, hoopctlBin, cfgRel, hoopctlBin, cfgRel, dir)

	select {
	case <-ctx.Done():
		fmt.Println("\nstopping...")
	case err := <-exited:
		return fmt.Errorf("broker exited: %v (see %s/broker.log)", err, dir)
	}
	return nil
}

// hoopctlBin is the CLI `make build` writes.
const hoopctlBin = "bin/hoopctl"

func cfgPath() string { abs, _ := filepath.Abs(filepath.Join(dir, "broker.yaml")); return abs }

// hoopctl runs the CLI against the demo broker and returns its trimmed output.
func hoopctl(args ...string) (string, error) {
	out, err := exec.Command(hoopctlBin, append([]string{"--config", cfgPath()}, args...)...).CombinedOutput()
	return strings.TrimSpace(string(out)), err
}

func listens(cfg *config.Config) []string {
	var out []string
	for _, c := range cfg.Connections {
		out = append(out, c.Listen)
	}
	return out
}

func indent(s string) string { return "  " + strings.ReplaceAll(s, "\n", "\n  ") }

func firstLine(err error) string { s, _, _ := strings.Cut(err.Error(), "\n"); return s }

// freePort returns want when it is free, another free port otherwise.
func freePort(want int) int {
	if ln, err := net.Listen("tcp", fmt.Sprintf("127.0.0.1:%d", want)); err == nil {
		ln.Close()
		return want
	}
	p, _ := testenv.FreePort()
	return p
}
