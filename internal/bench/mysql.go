package main

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"

	"github.com/hoophq/hoop/internal/testenv"
)

// sysbenchThreads is the concurrency of the MySQL runs.
const sysbenchThreads = 4

// benchMySQL runs sysbench oltp_point_select and oltp_read_only straight to
// a throwaway MariaDB and through the broker (a hoopctl serve process
// recording every statement, in both durability modes), and prints QPS and
// ratios.
func benchMySQL(hoopctl string) error {
	if _, err := exec.LookPath("sysbench"); err != nil {
		return fmt.Errorf("sysbench: %w", testenv.ErrMissing)
	}
	fmt.Printf("\n## sysbench, %d threads, %s per run (QPS, higher is better; every statement recorded through hoop)\n\n", sysbenchThreads, *duration)
	db, err := testenv.StartMariaDB("")
	if err != nil {
		return err
	}
	defer db.Stop()
	dir, err := os.MkdirTemp("", "hoop-bench-mysql-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	b, err := startMySQLBroker(hoopctl, dir, db)
	if err != nil {
		return err
	}
	defer b.stop()

	direct := []string{"--mysql-host=127.0.0.1", fmt.Sprintf("--mysql-port=%d", db.Port), "--mysql-user=" + db.User, "--mysql-password=" + db.Password}
	if out, err := sysbench("oltp_read_only", direct, "prepare"); err != nil {
		return fmt.Errorf("sysbench prepare: %v\n%s", err, out)
	}
	type target struct {
		name string
		args []string
	}
	through := func(conn string) []string {
		return []string{"--mysql-host=127.0.0.1", fmt.Sprintf("--mysql-port=%d", b.ports[conn]), "--mysql-user=bench", "--mysql-password=" + b.token}
	}
	targets := []target{
		{"direct", direct},
		{"hoop (durability write)", through("my-write")},
		{"hoop (durability fsync)", through("my-fsync")},
	}
	for _, workload := range []string{"oltp_point_select", "oltp_read_only"} {
		fmt.Printf("### %s\n\n", workload)
		qps := map[string]float64{}
		for _, t := range targets {
			out, err := sysbench(workload, t.args, "run", fmt.Sprintf("--threads=%d", sysbenchThreads), "--time="+secs(*duration))
			if err != nil {
				return fmt.Errorf("%s %s: %v\n%s", workload, t.name, err, out)
			}
			qps[t.name] = sysbenchQPS(out)
			fmt.Printf("%-26s %10.0f QPS\n", t.name, qps[t.name])
		}
		fmt.Println()
		for _, t := range targets[1:] {
			fmt.Printf("%-26s %.2f× direct\n", t.name, qps[t.name]/qps["direct"])
		}
		fmt.Println()
	}
	return nil
}

// sysbench runs one sysbench command against app's 4 tables of 10,000 rows.
func sysbench(workload string, conn []string, args ...string) (string, error) {
	all := append([]string{workload, "--db-driver=mysql", "--mysql-db=app", "--mysql-ssl=off", "--tables=4", "--table-size=10000"}, conn...)
	cmd := exec.Command("sysbench", append(all, args...)...)
	// libmariadb loads the mysql_clear_password plugin on first use, and
	// threads that connect at once race to load it ("it is already loaded"):
	// preload it.
	cmd.Env = append(os.Environ(), "LIBMYSQL_PLUGINS=mysql_clear_password")
	out, err := cmd.CombinedOutput()
	return string(out), err
}

// sysbenchQPS reads "queries: N (Q per sec.)" from sysbench's report.
func sysbenchQPS(out string) float64 {
	for _, l := range strings.Split(out, "\n") {
		if strings.Contains(l, "queries:") {
			if i := strings.Index(l, "("); i >= 0 {
				var v float64
				fmt.Sscan(l[i+1:], &v)
				return v
			}
		}
	}
	return 0
}

// mysqlBroker is a `hoopctl serve` process with two mysql connections to the
// same MariaDB, one per durability mode, plaintext on loopback like the
// direct runs.
type mysqlBroker struct {
	cmd   *exec.Cmd
	done  chan error
	ports map[string]int
	token string
}

func startMySQLBroker(hoopctl, dir string, db *testenv.MariaDB) (*mysqlBroker, error) {
	b := &mysqlBroker{done: make(chan error, 1), ports: map[string]int{}}
	admin, _ := testenv.FreePort()
	for _, n := range []string{"my-write", "my-fsync"} {
		b.ports[n], _ = testenv.FreePort()
	}
	os.WriteFile(filepath.Join(dir, "admin.token"), []byte("bench-admin-token\n"), 0o600)
	os.WriteFile(filepath.Join(dir, "my.password"), []byte(db.Password+"\n"), 0o600)
	conn := func(name, durability string) string {
		return fmt.Sprintf(`  - name: %s
    protocol: mysql
    listen: 127.0.0.1:%d
    durability: %s
    tls:
      mode: "off"
    upstream:
      address: %s
      user: %s
      password: ${file:my.password}
      database: %s
      tls: disable
    access:
      groups: [bench]
`, name, b.ports[name], durability, db.Addr(), db.User, db.Database)
	}
	cfg := fmt.Sprintf("broker:\n  data_dir: data\n  log_level: warn\nadmin:\n  listen: 127.0.0.1:%d\n  tokens:\n    - ${file:admin.token}\nconnections:\n%s%s",
		admin, conn("my-write", "write"), conn("my-fsync", "fsync"))
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
	if err := testenv.WaitPort(fmt.Sprintf("127.0.0.1:%d", b.ports["my-fsync"]), 15*time.Second, b.done); err != nil {
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

func (b *mysqlBroker) stop() {
	if b.cmd != nil && b.cmd.Process != nil {
		b.cmd.Process.Signal(os.Interrupt)
		select {
		case <-b.done:
		case <-time.After(15 * time.Second):
			b.cmd.Process.Kill()
		}
	}
}
