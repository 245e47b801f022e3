package main

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/hoophq/hoop/internal/testenv"
)

// broker is a `hoopctl serve` process with two connections to the same
// Postgres, one per durability mode, plaintext on loopback like the peers.
type broker struct {
	admin int // admin API port
	dir   string
	cmd   *exec.Cmd
	done  chan error
	ports map[string]int
	token string
}

func startBroker(hoopctl string, pg *testenv.Postgres) (*broker, error) {
	dir, err := os.MkdirTemp("", "hoop-bench-")
	if err != nil {
		return nil, err
	}
	b := &broker{dir: dir, done: make(chan error, 1), ports: map[string]int{}}
	admin, _ := testenv.FreePort()
	b.admin = admin
	for _, n := range []string{"pg-write", "pg-fsync"} {
		b.ports[n], _ = testenv.FreePort()
	}
	os.WriteFile(filepath.Join(dir, "admin.token"), []byte("bench-admin-token\n"), 0o600)
	os.WriteFile(filepath.Join(dir, "pg.password"), []byte(pg.Password+"\n"), 0o600)
	conn := func(name, durability string) string {
		return fmt.Sprintf(`  - name: %s
    protocol: postgres
    listen: 127.0.0.1:%d
    durability: %s
    tls:
      mode: "off"
    upstream:
      address: %s
      user: %s
      password: ${file:pg.password}
      database: %s
      tls: disable
    access:
      groups: [bench]
`, name, b.ports[name], durability, pg.Addr(), pg.User, pg.Database)
	}
	cfg := fmt.Sprintf("broker:\n  data_dir: data\n  log_level: warn\nadmin:\n  listen: 127.0.0.1:%d\n  tokens:\n    - ${file:admin.token}\nconnections:\n%s%s",
		admin, conn("pg-write", "write"), conn("pg-fsync", "fsync"))
	cfgPath := filepath.Join(dir, "broker.yaml")
	if err := os.WriteFile(cfgPath, []byte(cfg), 0o600); err != nil {
		return nil, err
	}
	b.cmd = exec.Command(hoopctl, "serve", "--config", cfgPath)
	log, _ := os.Create(filepath.Join(dir, "broker.log"))
	b.cmd.Stdout, b.cmd.Stderr = log, log
	if err := b.cmd.Start(); err != nil {
		return nil, err
	}
	go func() { b.done <- b.cmd.Wait() }()
	if err := testenv.WaitPort(fmt.Sprintf("127.0.0.1:%d", b.ports["pg-fsync"]), 15*time.Second, b.done); err != nil {
		out, _ := os.ReadFile(filepath.Join(dir, "broker.log"))
		b.stop()
		return nil, fmt.Errorf("broker: %v\n%s", err, out)
	}
	out, err := exec.Command(hoopctl, "--config", cfgPath, "token", "issue", "--user", "bench", "--groups", "bench", "--ttl", "2h").CombinedOutput()
	if err != nil {
		b.stop()
		return nil, fmt.Errorf("token issue: %v: %s", err, out)
	}
	b.token = strings.TrimSpace(string(out))
	return b, nil
}

func (b *broker) dsn(conn string) string {
	return fmt.Sprintf("host=127.0.0.1 port=%d user=bench dbname=app sslmode=disable", b.ports[conn])
}

func (b *broker) pid() int { return b.cmd.Process.Pid }

func (b *broker) stop() {
	if b.cmd != nil && b.cmd.Process != nil {
		b.cmd.Process.Signal(os.Interrupt)
		select {
		case <-b.done:
		case <-time.After(15 * time.Second):
			b.cmd.Process.Kill()
		}
	}
	os.RemoveAll(b.dir)
}

// openIdle opens n sessions through the broker and leaves them idle.
func openIdle(ctx context.Context, b *broker, n int) ([]*pgx.Conn, error) {
	conns := make([]*pgx.Conn, 0, n)
	for range n {
		c, err := pgx.Connect(ctx, b.dsn("pg-write")+" password="+b.token)
		if err != nil {
			return conns, fmt.Errorf("idle session %d: %w", len(conns)+1, err)
		}
		conns = append(conns, c)
	}
	return conns, nil
}

func closeAll(conns []*pgx.Conn) {
	for _, c := range conns {
		c.Close(context.Background())
	}
}

// profile saves a CPU profile of the broker over the next d to path, from the
// admin API's pprof endpoint. It returns at once; wait on the channel.
func (b *broker) profile(d time.Duration, path string) <-chan error {
	errc := make(chan error, 1)
	go func() {
		req, _ := http.NewRequest("GET", fmt.Sprintf("http://127.0.0.1:%d/debug/pprof/profile?seconds=%d", b.admin, int(d.Seconds())), nil)
		req.Header.Set("Authorization", "Bearer bench-admin-token")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			errc <- err
			return
		}
		defer resp.Body.Close()
		f, err := os.Create(path)
		if err != nil {
			errc <- err
			return
		}
		defer f.Close()
		_, err = io.Copy(f, resp.Body)
		errc <- err
	}()
	return errc
}
