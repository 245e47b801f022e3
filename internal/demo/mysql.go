package main

import (
	"fmt"
	"os"
	"path/filepath"

	"github.com/hoophq/hoop/internal/testenv"
)

// mysqlDemo starts a throwaway MariaDB with a small table for the demo and
// returns the mariadb line to type.
func mysqlDemo(dir, group string) (conn string, hint func() string, stop func(), err error) {
	fmt.Println("Starting a throwaway MariaDB...")
	m, err := testenv.StartMariaDB("")
	if err != nil {
		return "", nil, nil, err
	}
	err = m.Exec("CREATE TABLE app.pets (id INT PRIMARY KEY, name TEXT)",
		"INSERT INTO app.pets VALUES (1, 'Rex'), (2, 'Tom')")
	// Announced to clients as MariaDB announces itself, so that the client
	// says MariaDB too.
	version := "5.5.5-10.11-MariaDB"
	if rows, qerr := m.Query("SELECT VERSION()"); qerr == nil && len(rows) == 1 {
		version = "5.5.5-" + rows[0][0]
	}
	for name, body := range map[string][]byte{"mariadb.password": []byte(m.Password + "\n"), "mariadb-ca.crt": m.CACert} {
		if err == nil {
			err = os.WriteFile(filepath.Join(dir, name), body, 0o600)
		}
	}
	if err != nil {
		m.Stop()
		return "", nil, nil, err
	}
	port := freePort(13306)
	conn = fmt.Sprintf(`  - name: mariadb-demo
    protocol: mysql
    listen: 127.0.0.1:%d
    upstream:
      address: %s
      user: %s
      password: ${file:mariadb.password}
      database: %s
      tls: verify-full
      ca: mariadb-ca.crt
    mysql:
      server_version: %q
    access:
      groups: [%s]
`, port, m.Addr(), m.User, m.Database, version, group)
	hint = func() string {
		return fmt.Sprintf(`MariaDB — connection "mariadb-demo" on 127.0.0.1:%d (TLS), upstream %s as %s.
The password is your token (sent in clear text inside TLS):

  MYSQL_PWD=$(cat %s/token) mariadb --ssl -h 127.0.0.1 -P %d -u demo app

Try:  SELECT * FROM pets;   SELECT @hoop_user, @hoop_session;   SET @hoop_user = 'mallory';`,
			port, m.Addr(), m.User, dir, port)
	}
	return conn, hint, m.Stop, nil
}
