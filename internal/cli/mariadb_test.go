package cli_test

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	_ "github.com/go-sql-driver/mysql"

	"github.com/hoophq/hoop/internal/admin"
	"github.com/hoophq/hoop/internal/brokertest"
	"github.com/hoophq/hoop/internal/testenv"
)

// mariadbScript is what the user types: rows with a NULL, a table, a write,
// an error, a refused change of the identity variable, a multi-line
// statement.
const mariadbScript = `SELECT seq AS id, CONCAT('user', seq) AS name, IF(seq = 2, NULL, seq * 1.5) AS score FROM seq_1_to_3;
CREATE TABLE items (id INT PRIMARY KEY, name VARCHAR(20), price DECIMAL(8,2), added DATETIME, photo BLOB);
INSERT INTO items VALUES (1, 'apple', 1.25, '2024-02-29 13:45:30', NULL), (2, 'pear', 0.99, NULL, NULL);
SELECT * FROM missing;
SET @hoop_user = 'mallory';
SELECT COUNT(*) AS n,
       MAX(price) AS top
  FROM items;
`

// mysqlNormalisers replace what differs between runs beyond the shared
// normalisers: the client's timings and library version.
var mysqlNormalisers = []struct {
	re   *regexp.Regexp
	with string
}{
	{regexp.MustCompile(`\(\d+\.\d{3} sec\)`), "(t.ttt sec)"},
	{regexp.MustCompile(`client_version=\S+`), "client_version=<v>"},
}

// TestReplayMariadbGolden records real sessions — the stock mariadb client,
// then go-sql-driver/mysql with server-side prepared statements — through the
// broker to a throwaway MariaDB, and compares hoopctl replay's transcripts;
// hoopctl verify passes on both.
func TestReplayMariadbGolden(t *testing.T) {
	if testing.Short() {
		t.Skip("starts MariaDB")
	}
	cli, err := exec.LookPath("mariadb")
	if err != nil {
		t.Skip("mariadb is not installed (make setup)")
	}
	db, err := testenv.StartMariaDB("")
	if errors.Is(err, testenv.ErrMissing) {
		t.Skip(err)
	}
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(db.Stop)

	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "my.password"), []byte(db.Password+"\n"), 0o600)
	yaml := fmt.Sprintf(`broker:
  id: test-broker
  data_dir: data
admin:
  listen: 127.0.0.1:0
  tokens:
    - ${file:admin.token}
connections:
  - name: my
    protocol: mysql
    listen: 127.0.0.1:0
    upstream:
      address: %s
      user: %s
      password: ${file:my.password}
      database: %s
      tls: require
    access:
      groups: [dba]
`, db.Addr(), db.User, db.Database)
	b := brokertest.Start(t, dir, yaml)
	host, port, _ := strings.Cut(b.Addr("my"), ":")

	cmd := exec.Command(cli, "--no-defaults", "--ssl", "-h", host, "-P", port, "-u", "alice", "--password="+b.Token(t, "alice", "dba"), "-D", "app", "--force", "-t")
	cmd.Stdin = strings.NewReader(mariadbScript)
	out, err := cmd.CombinedOutput()
	if !strings.Contains(string(out), "ERROR 1146 (42S02)") || !strings.Contains(string(out), "ERROR 1227 (42000)") {
		t.Fatalf("mariadb through the broker: %v\n%s", err, out)
	}

	dsn := fmt.Sprintf("bob:%s@tcp(%s)/app?tls=skip-verify&allowCleartextPasswords=true", b.Token(t, "bob", "dba"), b.Addr("my"))
	d, err := sql.Open("mysql", dsn)
	if err != nil {
		t.Fatal(err)
	}
	d.SetMaxOpenConns(1)
	ins, err := d.Prepare("INSERT INTO items VALUES (?, ?, ?, ?, ?)")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := ins.Exec(3, "fig", "2.50", time.Date(2024, 3, 1, 9, 0, 0, 0, time.UTC), []byte{0xca, 0xfe}); err != nil {
		t.Fatal(err)
	}
	ins.Close()
	var n int
	if err := d.QueryRow("SELECT COUNT(*) FROM items WHERE price > ? OR photo IS NOT NULL", 1).Scan(&n); err != nil || n != 2 {
		t.Fatalf("count %d, %v; want 2", n, err)
	}
	rows, err := d.Query("SELECT id, name, price, added, photo FROM items WHERE id >= ? ORDER BY id", 2)
	if err != nil {
		t.Fatal(err)
	}
	for rows.Next() {
	}
	rows.Close()
	d.Close()

	c := &admin.Client{URL: b.AdminURL(), Token: brokertest.AdminToken}
	ids := map[string]string{}
	for deadline := time.Now().Add(10 * time.Second); len(ids) < 2; time.Sleep(20 * time.Millisecond) {
		list, err := c.Sessions(context.Background(), admin.Filter{Connection: "my"})
		if err != nil {
			t.Fatal(err)
		}
		for _, s := range list {
			if s.Outcome != "" {
				ids[s.Principal.Subject] = s.ID
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("the sessions did not end: %+v", list)
		}
	}
	for user, name := range map[string]string{"alice": "mysql-mariadb.txt", "bob": "mysql-driver.txt"} {
		text, errOut, code := b.Hoopctl("replay", ids[user])
		if code != 0 {
			t.Fatalf("replay %s: exit %d: %s", user, code, errOut)
		}
		for _, n := range mysqlNormalisers {
			text = n.re.ReplaceAllString(text, n.with)
		}
		golden(t, name, text)
		if out, errOut, code := b.Hoopctl("verify", ids[user]); code != 0 {
			t.Errorf("verify %s: exit %d: %s %s", user, code, out, errOut)
		}
	}
}
