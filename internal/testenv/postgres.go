package testenv

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
)

// Postgres is a throwaway PostgreSQL server: initdb into a temporary
// directory, pg_ctl as the postgres user, loopback high port, TLS on, SCRAM for
// the app role, and every statement logged (log_statement=all) to LogFile.
type Postgres struct {
	Dir      string // data and everything else; removed by Stop
	Host     string // 127.0.0.1
	Port     int
	Socket   string // unix socket directory, for the superuser
	Database string // "app"
	User     string // "app", login with Password over SCRAM
	Password string
	CACert   []byte // PEM of the server certificate (self-signed), to verify it
	CAFile   string // the same, as a file
	LogFile  string // the server log, with every statement

	bin      string
	uid, gid int
}

// PostgresBin is the directory of the newest installed PostgreSQL server.
func PostgresBin() (string, error) {
	if d := os.Getenv("HOOP_PG_BIN"); d != "" {
		return d, nil
	}
	d := newestGlob("/usr/lib/postgresql/*/bin")
	if d == "" {
		return "", fmt.Errorf("PostgreSQL server: %w", ErrMissing)
	}
	return d, nil
}

// StartPostgres starts a server in a new directory under parent ("" for the
// system temp dir).
func StartPostgres(parent string) (*Postgres, error) {
	bin, err := PostgresBin()
	if err != nil {
		return nil, err
	}
	uid, gid := os.Getuid(), os.Getgid()
	if os.Geteuid() == 0 {
		if uid, gid, err = lookupUser("postgres"); err != nil {
			return nil, err
		}
	}
	dir, err := os.MkdirTemp(parent, "hoop-pg-")
	if err != nil {
		return nil, err
	}
	port, err := FreePort()
	if err != nil {
		return nil, err
	}
	p := &Postgres{
		Dir: dir, Host: "127.0.0.1", Port: port, Socket: dir, Database: "app", User: "app",
		Password: "app-" + strconv.FormatInt(time.Now().UnixNano(), 36),
		LogFile:  filepath.Join(dir, "postgres.log"),
		bin:      bin, uid: uid, gid: gid,
	}
	if err := p.start(); err != nil {
		p.Stop()
		return nil, err
	}
	return p, nil
}

func (p *Postgres) start() error {
	data := filepath.Join(p.Dir, "data")
	pwfile := filepath.Join(p.Dir, "pw")
	if err := os.WriteFile(pwfile, []byte("postgres\n"), 0o600); err != nil {
		return err
	}
	if err := chownAll(p.Dir, p.uid, p.gid); err != nil {
		return err
	}
	if out, err := runAs(p.uid, p.gid, filepath.Join(p.bin, "initdb"), "-D", data, "-U", "postgres", "--pwfile", pwfile,
		"-A", "scram-sha-256", "--auth-local=trust", "-E", "UTF8", "--locale=C", "--no-sync").CombinedOutput(); err != nil {
		return fmt.Errorf("initdb: %v\n%s", err, out)
	}
	cert, err := SelfSignedCert(data, "server")
	if err != nil {
		return err
	}
	p.CACert = cert
	p.CAFile = filepath.Join(p.Dir, "ca.crt")
	if err := os.WriteFile(p.CAFile, cert, 0o644); err != nil {
		return err
	}
	conf := fmt.Sprintf(`
listen_addresses = '127.0.0.1'
port = %d
unix_socket_directories = '%s'
ssl = on
ssl_cert_file = 'server.crt'
ssl_key_file = 'server.key'
password_encryption = 'scram-sha-256'
max_connections = 1200
shared_buffers = 64MB
fsync = off
synchronous_commit = off
full_page_writes = off
log_statement = 'all'
log_line_prefix = '%%m [%%p] %%u@%%d '
log_min_messages = warning
`, p.Port, p.Socket)
	f, err := os.OpenFile(filepath.Join(data, "postgresql.conf"), os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		return err
	}
	f.WriteString(conf)
	f.Close()
	hba := "local all all trust\nhost all all 127.0.0.1/32 scram-sha-256\nhost all all ::1/128 scram-sha-256\n"
	if err := os.WriteFile(filepath.Join(data, "pg_hba.conf"), []byte(hba), 0o600); err != nil {
		return err
	}
	if err := chownAll(p.Dir, p.uid, p.gid); err != nil {
		return err
	}
	out, err := runAs(p.uid, p.gid, filepath.Join(p.bin, "pg_ctl"), "-D", data, "-l", p.LogFile, "-w", "-t", "60", "start").CombinedOutput()
	if err != nil {
		log, _ := os.ReadFile(p.LogFile)
		return fmt.Errorf("pg_ctl start: %v\n%s\n%s", err, out, log)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	return p.Exec(ctx, "postgres",
		fmt.Sprintf(`CREATE ROLE %s LOGIN PASSWORD '%s'`, p.User, p.Password),
		fmt.Sprintf(`CREATE DATABASE %s OWNER %s`, p.Database, p.User),
	)
}

// Addr is host:port.
func (p *Postgres) Addr() string { return fmt.Sprintf("%s:%d", p.Host, p.Port) }

// SuperuserConn connects as the postgres superuser over the unix socket.
func (p *Postgres) SuperuserConn(ctx context.Context, database string) (*pgx.Conn, error) {
	return pgx.Connect(ctx, fmt.Sprintf("host=%s port=%d user=postgres dbname=%s sslmode=disable", p.Socket, p.Port, database))
}

// Exec runs statements as the superuser in database, one by one.
func (p *Postgres) Exec(ctx context.Context, database string, stmts ...string) error {
	c, err := p.SuperuserConn(ctx, database)
	if err != nil {
		return err
	}
	defer c.Close(ctx)
	for _, s := range stmts {
		if _, err := c.Exec(ctx, s); err != nil {
			return fmt.Errorf("%s: %w", s, err)
		}
	}
	return nil
}

// DSN is a libpq connection string for the app role, straight to the server.
func (p *Postgres) DSN() string {
	return fmt.Sprintf("host=%s port=%d user=%s password=%s dbname=%s sslmode=require", p.Host, p.Port, p.User, p.Password, p.Database)
}

// Statements returns the statements the server logged (log_statement=all), in
// order, for the given user.
func (p *Postgres) Statements(user string) ([]string, error) {
	b, err := os.ReadFile(p.LogFile)
	if err != nil {
		return nil, err
	}
	var out []string
	marker := " " + user + "@"
	for _, line := range strings.Split(string(b), "\n") {
		if !strings.Contains(line, marker) {
			continue
		}
		if i := strings.Index(line, "LOG:  statement: "); i >= 0 {
			out = append(out, line[i+len("LOG:  statement: "):])
		} else if i := strings.Index(line, "LOG:  execute "); i >= 0 {
			// "LOG:  execute <name>: SQL"
			rest := line[i+len("LOG:  execute "):]
			if j := strings.Index(rest, ": "); j >= 0 {
				out = append(out, rest[j+2:])
			}
		}
	}
	return out, nil
}

// Stop stops the server and removes its directory.
func (p *Postgres) Stop() {
	if p == nil {
		return
	}
	if _, err := os.Stat(filepath.Join(p.Dir, "data", "postmaster.pid")); err == nil {
		runAs(p.uid, p.gid, filepath.Join(p.bin, "pg_ctl"), "-D", filepath.Join(p.Dir, "data"), "-m", "immediate", "-w", "stop").Run()
	}
	os.RemoveAll(p.Dir)
}

// lookPath reports a missing client binary the same way as a missing server.
func lookPath(name string) (string, error) {
	p, err := exec.LookPath(name)
	if err != nil {
		return "", fmt.Errorf("%s: %w", name, ErrMissing)
	}
	return p, nil
}
