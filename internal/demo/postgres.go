package main

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"

	"github.com/hoophq/hoop/internal/testenv"
)

// postgresDemo starts a throwaway PostgreSQL for the demo. Its hint makes the
// demo's own recorded session — psql through the broker creates and fills a
// table — and returns the psql line to type.
func postgresDemo(dir, group string) (conn string, hint func() string, stop func(), err error) {
	fmt.Println("Starting a throwaway PostgreSQL...")
	pg, err := testenv.StartPostgres("")
	if err != nil {
		return "", nil, nil, err
	}
	for name, body := range map[string][]byte{"pg.password": []byte(pg.Password + "\n"), "pg-ca.crt": pg.CACert} {
		if err := os.WriteFile(filepath.Join(dir, name), body, 0o600); err != nil {
			pg.Stop()
			return "", nil, nil, err
		}
	}
	port := freePort(15432)
	conn = fmt.Sprintf(`  - name: pg-demo
    protocol: postgres
    listen: 127.0.0.1:%d
    upstream:
      address: %s
      user: %s
      password: ${file:pg.password}
      database: %s
      tls: verify-full
      ca: pg-ca.crt
    access:
      groups: [%s]
`, port, pg.Addr(), pg.User, pg.Database, group)
	conninfo := fmt.Sprintf("host=127.0.0.1 port=%d user=demo dbname=app sslmode=require", port)
	hint = func() string {
		token, _ := os.ReadFile(filepath.Join(dir, "token"))
		psql := exec.Command("psql", conninfo, "-X", "-v", "ON_ERROR_STOP=1",
			"-c", "CREATE TABLE IF NOT EXISTS pets (id int PRIMARY KEY, name text, owner text DEFAULT current_setting('hoop.user'))",
			"-c", "INSERT INTO pets (id, name) VALUES (1, 'Rex'), (2, 'Tom') ON CONFLICT DO NOTHING",
			"-c", "SELECT * FROM pets ORDER BY id")
		psql.Env = append(os.Environ(), "PGPASSWORD="+strings.TrimSpace(string(token)))
		var out bytes.Buffer
		psql.Stdout, psql.Stderr = &out, &out
		note := ""
		if err := psql.Run(); err != nil {
			note = fmt.Sprintf("\n(the demo's own psql session failed: %v: %s)", err, strings.TrimSpace(out.String()))
		}
		return fmt.Sprintf(`PostgreSQL — connection "pg-demo" on 127.0.0.1:%d (TLS, self-signed), upstream %s as %s.
The password is your token:

  PGPASSWORD=$(cat %s/token) psql "%s"

Try:  SELECT * FROM pets;   SELECT current_setting('hoop.user');   SET hoop.user = 'mallory';%s`,
			port, pg.Addr(), pg.User, dir, conninfo, note)
	}
	return conn, hint, pg.Stop, nil
}
