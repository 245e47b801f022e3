// Command bench measures the broker against direct connections and peers in one
// run and prints the figures as ratios (make bench). It is not a test: these
// machines are noisy, so nothing here passes or fails on a number.
//
// Postgres: pgbench -S (select-only) with 8 clients directly, through
// pgbouncer (session pool) and through the broker in both durability modes
// with every statement recorded; then 1-client latency; then the broker's RSS
// with 1,000 idle sessions.
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"time"

	"github.com/hoophq/hoop/internal/testenv"
)

var (
	duration = flag.Duration("t", 15*time.Second, "length of each throughput run")
	idle     = flag.Int("idle", 1000, "idle sessions for the memory figure")
	clients  = flag.Int("c", 8, "pgbench clients for the throughput runs")
	profile  = flag.String("cpuprofile", "", "save a CPU profile of the broker during the durability-write pgbench run to this file")
	only     = flag.String("only", "", "comma-separated sections to run (postgres, ssh, mysql, kube); default all")
)

// sections run in this order; each starts and stops its own servers.
var sections = []struct {
	name string
	run  func(hoopctl string) error
}{
	{"postgres", benchPostgres},
	{"ssh", benchSSH},
	{"mysql", benchMySQL},
	{"kube", benchKube},
}

func main() {
	flag.Parse()
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		os.Exit(1)
	}
}

type target struct {
	name string
	dsn  string
	env  []string
}

func run() error {
	hoopctl, err := filepath.Abs("bin/hoopctl")
	if err != nil {
		return err
	}
	fmt.Println("# hoop benchmark —", time.Now().UTC().Format(time.RFC3339), hostInfo())
	want := map[string]bool{}
	for n := range strings.SplitSeq(*only, ",") {
		if n != "" {
			want[strings.TrimSpace(n)] = true
		}
	}
	for _, sec := range sections {
		if len(want) > 0 && !want[sec.name] {
			continue
		}
		if err := sec.run(hoopctl); err != nil {
			return fmt.Errorf("%s: %w", sec.name, err)
		}
	}
	return nil
}

// benchPostgres: pgbench -S directly, through pgbouncer and through the broker
// in both durability modes; 1-client latency; RSS with idle sessions.
func benchPostgres(hoopctl string) error {
	pg, err := testenv.StartPostgres("")
	if err != nil {
		return err
	}
	defer pg.Stop()
	direct := fmt.Sprintf("host=%s port=%d user=%s dbname=%s sslmode=disable", pg.Host, pg.Port, pg.User, pg.Database)
	if out, err := pgbench(direct, []string{"PGPASSWORD=" + pg.Password}, "-i", "-q", "-s", "10"); err != nil {
		return fmt.Errorf("pgbench -i: %v\n%s", err, out)
	}

	bouncer, err := testenv.StartPgbouncer(pg)
	if err != nil {
		return err
	}
	defer bouncer.Stop()

	dir, err := os.MkdirTemp("", "hoop-bench-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	br, err := startBroker(hoopctl, dir, durabilityPair("postgres", "pg", pg.Addr(), pg.User, pg.Database, pg.Password))
	if err != nil {
		return err
	}
	defer br.stop()

	pw := []string{"PGPASSWORD=" + pg.Password}
	tok := []string{"PGPASSWORD=" + br.token}
	targets := []target{
		{"direct", direct, pw},
		{"pgbouncer", fmt.Sprintf("host=127.0.0.1 port=%d user=%s dbname=%s sslmode=disable", bouncer.Port, pg.User, pg.Database), pw},
		{"hoop (durability write)", br.dsn("pg-write"), tok},
		{"hoop (durability fsync)", br.dsn("pg-fsync"), tok},
	}

	fmt.Printf("\n## pgbench -S -c %d -j 2 -T %s (TPS, higher is better; every statement recorded through hoop)\n\n", *clients, *duration)
	tps := map[string]float64{}
	for i, t := range targets {
		var prof <-chan error
		if i == 2 && *profile != "" {
			prof = br.profile(*duration-time.Second, *profile)
		}
		out, err := pgbench(t.dsn, t.env, "-S", "-n", "-c", fmt.Sprint(*clients), "-j", "2", "-T", secs(*duration))
		if err != nil {
			return fmt.Errorf("%s: %v\n%s", t.name, err, out)
		}
		if prof != nil {
			if err := <-prof; err != nil {
				return fmt.Errorf("profile: %w", err)
			}
		}
		tps[t.name] = field(out, "tps = ")
		fmt.Printf("%-26s %10.0f TPS\n", t.name, tps[t.name])
	}
	fmt.Println()
	for _, t := range targets[2:] {
		fmt.Printf("%-26s %.2f× direct   %.2f× pgbouncer\n", t.name, tps[t.name]/tps["direct"], tps[t.name]/tps["pgbouncer"])
	}

	fmt.Printf("\n## pgbench -S -c 1 -T %s (average latency, lower is better)\n\n", *duration/2)
	lat := map[string]float64{}
	for _, t := range targets {
		out, err := pgbench(t.dsn, t.env, "-S", "-n", "-c", "1", "-T", secs(*duration/2))
		if err != nil {
			return fmt.Errorf("%s: %v\n%s", t.name, err, out)
		}
		lat[t.name] = field(out, "latency average = ")
		fmt.Printf("%-26s %8.3f ms   (+%.3f ms over direct)\n", t.name, lat[t.name], lat[t.name]-lat["direct"])
	}

	fmt.Printf("\n## broker memory with %d idle sessions\n\n", *idle)
	before := rss(br.pid())
	conns, err := openIdle(context.Background(), br, *idle)
	defer closeAll(conns)
	if err != nil {
		return err
	}
	time.Sleep(time.Second)
	after := rss(br.pid())
	fmt.Printf("RSS before %d MiB, with %d idle sessions %d MiB: %.1f KiB per session (each holds its upstream connection)\n",
		before>>20, len(conns), after>>20, float64(after-before)/1024/float64(len(conns)))
	return nil
}

func secs(d time.Duration) string { return fmt.Sprint(int(d.Seconds())) }

func pgbench(dsn string, env []string, args ...string) (string, error) {
	cmd := exec.Command("pgbench", append(args, dsn)...)
	cmd.Env = append(os.Environ(), env...)
	out, err := cmd.CombinedOutput()
	return string(out), err
}

// field parses the number after prefix in pgbench's output.
func field(out, prefix string) float64 {
	for _, l := range strings.Split(out, "\n") {
		if i := strings.Index(l, prefix); i >= 0 {
			var v float64
			fmt.Sscan(l[i+len(prefix):], &v)
			return v
		}
	}
	return 0
}

// rss is a process's resident set size in bytes.
func rss(pid int) int64 {
	b, _ := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	for _, l := range strings.Split(string(b), "\n") {
		if strings.HasPrefix(l, "VmRSS:") {
			var kb int64
			fmt.Sscan(strings.TrimPrefix(l, "VmRSS:"), &kb)
			return kb << 10
		}
	}
	return 0
}

func hostInfo() string { return fmt.Sprintf("(%d CPUs, %s)", runtime.NumCPU(), runtime.Version()) }
