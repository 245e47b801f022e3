package testenv

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"syscall"
	"time"

	"github.com/go-mysql-org/go-mysql/client"
)

// MariaDB is a throwaway MariaDB server: mariadb-install-db into a temporary
// directory, mariadbd --no-defaults as the mysql user, loopback high port,
// TLS on, performance_schema on (with room for connection attributes), and
// an app user with a password. The superuser (root, no password) only
// reaches it over the unix socket.
type MariaDB struct {
	Dir      string // data and everything else; removed by Stop
	Host     string // 127.0.0.1
	Port     int
	Socket   string // unix socket, for the superuser
	Database string // "app"
	User     string // "app", login with Password over mysql_native_password
	Password string
	CACert   []byte // PEM of the server certificate (self-signed), to verify it
	CAFile   string // the same, as a file
	LogFile  string // the server's error log

	uid, gid int
	cmd      *exec.Cmd
	done     chan error
}

// MariaDBBin finds the server, the installer and the client.
func MariaDBBin() (server, install, cli string, err error) {
	server = os.Getenv("HOOP_MARIADBD")
	if server == "" {
		for _, p := range []string{"/usr/sbin/mariadbd", "/usr/libexec/mariadbd", "/usr/bin/mariadbd"} {
			if _, err := os.Stat(p); err == nil {
				server = p
				break
			}
		}
	}
	if server == "" {
		return "", "", "", fmt.Errorf("MariaDB server (mariadbd): %w", ErrMissing)
	}
	if install, err = lookPath("mariadb-install-db"); err != nil {
		return "", "", "", err
	}
	if cli, err = lookPath("mariadb"); err != nil {
		return "", "", "", err
	}
	return server, install, cli, nil
}

// StartMariaDB starts a server in a new directory under parent ("" for the
// system temp dir). It takes about two seconds.
func StartMariaDB(parent string) (*MariaDB, error) {
	server, install, _, err := MariaDBBin()
	if err != nil {
		return nil, err
	}
	uid, gid := os.Getuid(), os.Getgid()
	if os.Geteuid() == 0 {
		if uid, gid, err = lookupUser("mysql"); err != nil {
			return nil, err
		}
	}
	dir, err := os.MkdirTemp(parent, "hoop-mariadb-")
	if err != nil {
		return nil, err
	}
	port, err := FreePort()
	if err != nil {
		return nil, err
	}
	m := &MariaDB{
		Dir: dir, Host: "127.0.0.1", Port: port, Socket: filepath.Join(dir, "mysqld.sock"),
		Database: "app", User: "app",
		Password: "app-" + strconv.FormatInt(time.Now().UnixNano(), 36),
		LogFile:  filepath.Join(dir, "error.log"),
		uid:      uid, gid: gid,
	}
	if err := m.start(server, install); err != nil {
		m.Stop()
		return nil, err
	}
	return m, nil
}

func (m *MariaDB) start(server, install string) error {
	data := filepath.Join(m.Dir, "data")
	if err := chownAll(m.Dir, m.uid, m.gid); err != nil {
		return err
	}
	if out, err := runAs(m.uid, m.gid, install, "--no-defaults", "--datadir="+data,
		"--auth-root-authentication-method=normal", "--skip-test-db", "--skip-name-resolve").CombinedOutput(); err != nil {
		return fmt.Errorf("mariadb-install-db: %v\n%s", err, out)
	}
	cert, err := SelfSignedCert(m.Dir, "server")
	if err != nil {
		return err
	}
	m.CACert = cert
	m.CAFile = filepath.Join(m.Dir, "server.crt")
	if err := chownAll(m.Dir, m.uid, m.gid); err != nil {
		return err
	}
	m.cmd = runAs(m.uid, m.gid, server, "--no-defaults",
		"--datadir="+data,
		"--socket="+m.Socket,
		"--port="+strconv.Itoa(m.Port),
		"--bind-address=127.0.0.1",
		"--pid-file="+filepath.Join(m.Dir, "mysqld.pid"),
		"--log-error="+m.LogFile,
		"--skip-name-resolve",
		"--skip-log-bin",
		"--ssl-cert="+filepath.Join(m.Dir, "server.crt"),
		"--ssl-key="+filepath.Join(m.Dir, "server.key"),
		"--performance-schema=ON",
		"--performance-schema-session-connect-attrs-size=4096",
		"--character-set-server=utf8mb4",
		"--collation-server=utf8mb4_general_ci",
		"--max-connections=1200",
		"--innodb-buffer-pool-size=128M",
		"--innodb-flush-log-at-trx-commit=0",
		"--innodb-doublewrite=0",
		"--local-infile=1",
	)
	if err := m.cmd.Start(); err != nil {
		return fmt.Errorf("mariadbd: %w", err)
	}
	m.done = make(chan error, 1)
	go func() { m.done <- m.cmd.Wait() }()
	if err := WaitPort(m.Addr(), 60*time.Second, m.done); err != nil {
		log, _ := os.ReadFile(m.LogFile)
		return fmt.Errorf("mariadbd: %v\n%s", err, log)
	}
	return m.Exec(
		// Only the socket reaches root.
		"DROP USER IF EXISTS 'root'@'127.0.0.1', 'root'@'::1'",
		fmt.Sprintf("CREATE DATABASE %s", m.Database),
		fmt.Sprintf("CREATE USER '%s'@'%%' IDENTIFIED BY '%s'", m.User, m.Password),
		fmt.Sprintf("GRANT ALL ON %s.* TO '%s'@'%%'", m.Database, m.User),
	)
}

// Addr is host:port.
func (m *MariaDB) Addr() string { return fmt.Sprintf("%s:%d", m.Host, m.Port) }

// RootConn connects as root over the unix socket.
func (m *MariaDB) RootConn() (*client.Conn, error) {
	return client.Connect(m.Socket, "root", "", "")
}

// Exec runs statements as root, one by one.
func (m *MariaDB) Exec(stmts ...string) error {
	c, err := m.RootConn()
	if err != nil {
		return err
	}
	defer c.Close()
	for _, s := range stmts {
		if _, err := c.Execute(s); err != nil {
			return fmt.Errorf("%s: %w", s, err)
		}
	}
	return nil
}

// Query runs one statement as root and returns its rows as strings (NULL as
// "NULL").
func (m *MariaDB) Query(stmt string) ([][]string, error) {
	c, err := m.RootConn()
	if err != nil {
		return nil, err
	}
	defer c.Close()
	r, err := c.Execute(stmt)
	if err != nil {
		return nil, err
	}
	defer r.Close()
	var out [][]string
	for i := range r.RowNumber() {
		row := make([]string, r.ColumnNumber())
		for j := range row {
			if null, _ := r.IsNull(i, j); null {
				row[j] = "NULL"
				continue
			}
			row[j], _ = r.GetString(i, j)
		}
		out = append(out, row)
	}
	return out, nil
}

// DSN is a go-sql-driver/mysql DSN for the app user, straight to the server.
func (m *MariaDB) DSN() string {
	return fmt.Sprintf("%s:%s@tcp(%s)/%s", m.User, m.Password, m.Addr(), m.Database)
}

// Stop stops the server and removes its directory.
func (m *MariaDB) Stop() {
	if m == nil {
		return
	}
	if m.cmd != nil && m.cmd.Process != nil {
		m.cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-m.done:
		case <-time.After(20 * time.Second):
			m.cmd.Process.Kill()
			<-m.done
		}
	}
	os.RemoveAll(m.Dir)
}
