package testenv

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"time"
)

// Pgbouncer is a throwaway pgbouncer in session pool mode in front of a
// Postgres, for the benchmark. It refuses to run as root, so it runs as the
// postgres user.
type Pgbouncer struct {
	Port int
	dir  string
	cmd  *exec.Cmd
	done chan error
}

// StartPgbouncer starts pgbouncer for pg's app database and role, plaintext on
// loopback, clients authenticating with the app password.
func StartPgbouncer(pg *Postgres) (*Pgbouncer, error) {
	bin, err := exec.LookPath("pgbouncer")
	if err != nil {
		if _, serr := os.Stat("/usr/sbin/pgbouncer"); serr != nil {
			return nil, fmt.Errorf("pgbouncer: %w", ErrMissing)
		}
		bin = "/usr/sbin/pgbouncer"
	}
	port, err := FreePort()
	if err != nil {
		return nil, err
	}
	dir, err := os.MkdirTemp("", "hoop-pgbouncer-")
	if err != nil {
		return nil, err
	}
	b := &Pgbouncer{Port: port, dir: dir, done: make(chan error, 1)}
	ini := fmt.Sprintf(`[databases]
%[1]s = host=%[2]s port=%[3]d dbname=%[1]s user=%[4]s password=%[5]s

[pgbouncer]
listen_addr = 127.0.0.1
listen_port = %[6]d
unix_socket_dir =
auth_type = plain
auth_file = %[7]s/users.txt
pool_mode = session
max_client_conn = 2000
default_pool_size = 100
server_tls_sslmode = disable
logfile = %[7]s/pgbouncer.log
pidfile = %[7]s/pgbouncer.pid
`, pg.Database, pg.Host, pg.Port, pg.User, pg.Password, port, dir)
	if err := os.WriteFile(filepath.Join(dir, "pgbouncer.ini"), []byte(ini), 0o600); err != nil {
		return nil, err
	}
	users := fmt.Sprintf("%q %q\n", pg.User, pg.Password)
	if err := os.WriteFile(filepath.Join(dir, "users.txt"), []byte(users), 0o600); err != nil {
		return nil, err
	}
	if err := chownAll(dir, pg.uid, pg.gid); err != nil {
		return nil, err
	}
	b.cmd = runAs(pg.uid, pg.gid, bin, filepath.Join(dir, "pgbouncer.ini"))
	if err := b.cmd.Start(); err != nil {
		return nil, err
	}
	go func() { b.done <- b.cmd.Wait() }()
	if err := WaitPort(fmt.Sprintf("127.0.0.1:%d", port), 10*time.Second, b.done); err != nil {
		log, _ := os.ReadFile(filepath.Join(dir, "pgbouncer.log"))
		b.Stop()
		return nil, fmt.Errorf("pgbouncer: %v\n%s", err, log)
	}
	return b, nil
}

// Stop stops pgbouncer and removes its directory.
func (b *Pgbouncer) Stop() {
	if b.cmd != nil && b.cmd.Process != nil {
		b.cmd.Process.Kill()
		<-b.done
	}
	os.RemoveAll(b.dir)
}
