package main

import (
	"context"
	"fmt"
	"io"
	"maps"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/hoophq/hoop/internal/testenv"
)

// adminToken is the admin API token of every bench broker.
const adminToken = "bench-admin-token"

// broker is a `hoopctl serve` process started by startBroker: one section's
// connections, on free loopback ports, recording every command.
type broker struct {
	dir   string // broker.yaml, its secrets, data/ and broker.log
	admin int    // admin API port
	cmd   *exec.Cmd
	done  chan error
	ports map[string]int // connection name → port
	token string         // for user bench, when brokerSpec.groups is set
}

// brokerSpec is what a section's broker serves.
type brokerSpec struct {
	// ports are the connections' listen ports (from freePorts); startBroker
	// waits until each accepts.
	ports map[string]int
	// connections is the YAML list under connections:, items indented two
	// spaces, each listening on its port.
	connections string
	// secrets are written beside broker.yaml, for ${file:NAME}.
	secrets map[string][]byte
	// groups are the groups of the token issued to user bench; "" issues none.
	groups string
}

// freePorts picks a free loopback port for each named connection.
func freePorts(names ...string) map[string]int {
	ports := map[string]int{}
	for _, n := range names {
		ports[n], _ = testenv.FreePort()
	}
	return ports
}

// startBroker writes broker.yaml (admin API on a free port, log level warn,
// data in dir/data) with spec's connections into dir, runs hoopctl serve on
// it, waits until every connection listens and issues the token. The caller
// stops it, then removes dir.
func startBroker(hoopctl, dir string, spec brokerSpec) (*broker, error) {
	b := &broker{dir: dir, done: make(chan error, 1), ports: spec.ports}
	b.admin, _ = testenv.FreePort()
	files := map[string][]byte{"admin.token": []byte(adminToken + "\n")}
	maps.Copy(files, spec.secrets)
	for name, body := range files {
		if err := os.WriteFile(filepath.Join(dir, name), body, 0o600); err != nil {
			return nil, err
		}
	}
	cfg := fmt.Sprintf("broker:\n  data_dir: data\n  log_level: warn\nadmin:\n  listen: 127.0.0.1:%d\n  tokens:\n    - ${file:admin.token}\nconnections:\n%s",
		b.admin, spec.connections)
	cfgPath := filepath.Join(dir, "broker.yaml")
	if err := os.WriteFile(cfgPath, []byte(cfg), 0o600); err != nil {
		return nil, err
	}
	logPath := filepath.Join(dir, "broker.log")
	log, err := os.Create(logPath)
	if err != nil {
		return nil, err
	}
	defer log.Close() // the child holds its own descriptor
	b.cmd = exec.Command(hoopctl, "serve", "--config", cfgPath)
	b.cmd.Stdout, b.cmd.Stderr = log, log
	if err := b.cmd.Start(); err != nil {
		return nil, err
	}
	go func() { b.done <- b.cmd.Wait() }()
	for _, port := range spec.ports {
		if err := testenv.WaitPort(fmt.Sprintf("127.0.0.1:%d", port), 15*time.Second, b.done); err != nil {
			out, _ := os.ReadFile(logPath)
			b.stop()
			return nil, fmt.Errorf("broker: %v\n%s", err, out)
		}
	}
	if spec.groups != "" {
		out, err := exec.Command(hoopctl, "--config", cfgPath, "token", "issue", "--user", "bench", "--groups", spec.groups, "--ttl", "2h").CombinedOutput()
		if err != nil {
			b.stop()
			return nil, fmt.Errorf("token issue: %v: %s", err, out)
		}
		b.token = strings.TrimSpace(string(out))
	}
	return b, nil
}

// durabilityPair is the broker of the SQL sections: connections prefix-write
// and prefix-fsync, one per durability mode, to the same upstream,
// plaintext on loopback like the direct runs, every statement recorded.
func durabilityPair(protocol, prefix, address, user, database, password string) brokerSpec {
	ports := freePorts(prefix+"-write", prefix+"-fsync")
	var conns strings.Builder
	for _, durability := range []string{"write", "fsync"} {
		name := prefix + "-" + durability
		fmt.Fprintf(&conns, `  - name: %s
    protocol: %s
    listen: 127.0.0.1:%d
    durability: %s
    tls:
      mode: "off"
    upstream:
      address: %s
      user: %s
      password: ${file:upstream.password}
      database: %s
      tls: disable
    access:
      groups: [bench]
`, name, protocol, ports[name], durability, address, user, database)
	}
	return brokerSpec{
		ports:       ports,
		connections: conns.String(),
		secrets:     map[string][]byte{"upstream.password": []byte(password + "\n")},
		groups:      "bench",
	}
}

// dsn is a libpq connection string to a Postgres connection, as user bench.
func (b *broker) dsn(conn string) string {
	return fmt.Sprintf("host=127.0.0.1 port=%d user=bench dbname=app sslmode=disable", b.ports[conn])
}

func (b *broker) pid() int { return b.cmd.Process.Pid }

// stop interrupts the broker and waits for it, killing it after 15s.
func (b *broker) stop() {
	if b.cmd != nil && b.cmd.Process != nil {
		b.cmd.Process.Signal(os.Interrupt)
		select {
		case <-b.done:
		case <-time.After(15 * time.Second):
			b.cmd.Process.Kill()
		}
	}
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
		req.Header.Set("Authorization", "Bearer "+adminToken)
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
