package main

import (
	"fmt"
	"os"
	"os/exec"
	"strings"

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
	b, err := startBroker(hoopctl, dir, durabilityPair("mysql", "my", db.Addr(), db.User, db.Database, db.Password))
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
