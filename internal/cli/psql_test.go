package cli_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/hoophq/hoop/internal/admin"
	"github.com/hoophq/hoop/internal/brokertest"
	"github.com/hoophq/hoop/internal/testenv"
)

// psqlScript is what the user types: rows, a write, errors, a notice, a
// denied statement and a multi-line statement.
const psqlScript = `select id, email, note from users order by id;
insert into users (id, email) values (3, 'carol@example.com');
select * from missing;
select 1/0;
do $$ begin raise notice 'hello %', 'world'; end $$;
set hoop.user = 'mallory';
select count(*) as n,
       max(id) as top
  from users;
`

// TestReplayPsqlGolden records a real session — stock psql through the
// broker to a throwaway Postgres — and compares hoopctl replay's transcript.
func TestReplayPsqlGolden(t *testing.T) {
	if testing.Short() {
		t.Skip("starts Postgres")
	}
	psql, err := exec.LookPath("psql")
	if err != nil {
		t.Skip("psql is not installed (make setup)")
	}
	pg, err := testenv.StartPostgres("")
	if errors.Is(err, testenv.ErrMissing) {
		t.Skip(err)
	}
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(pg.Stop)
	ctx := context.Background()
	if err := pg.Exec(ctx, pg.Database,
		`create table users (id int primary key, email text not null, note text)`,
		`insert into users values (1, 'alice@example.com', null), (2, 'bob@example.com', 'second')`,
		`grant all on users to `+pg.User,
	); err != nil {
		t.Fatal(err)
	}

	yaml := brokerYAML(fmt.Sprintf(`      address: %s
      user: %s
      password: ${file:pg.password}
      database: %s
      tls: require`, pg.Addr(), pg.User, pg.Database))
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "pg.password"), []byte(pg.Password+"\n"), 0o600)
	b := brokertest.Start(t, dir, yaml)
	token := b.Token(t, "alice", "dba")
	script := filepath.Join(dir, "script.sql")
	os.WriteFile(script, []byte(psqlScript), 0o600)
	host, port, _ := strings.Cut(b.Addr("pg"), ":")
	cmd := exec.Command(psql, "-X", "-f", script,
		fmt.Sprintf("host=%s port=%s user=alice dbname=app sslmode=require connect_timeout=10", host, port))
	cmd.Env = append(os.Environ(), "PGPASSWORD="+token, "PGAPPNAME=psql")
	out, err := cmd.CombinedOutput()
	if err != nil || !strings.Contains(string(out), "INSERT 0 1") {
		t.Fatalf("psql through the broker: %v\n%s", err, out)
	}

	// psql has quit; wait for the broker to seal the session.
	c := &admin.Client{URL: b.AdminURL(), Token: brokertest.AdminToken}
	var id string
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		list, err := c.Sessions(ctx, admin.Filter{Connection: "pg"})
		if err != nil {
			t.Fatal(err)
		}
		if len(list) == 1 && list[0].Outcome != "" {
			id = list[0].ID
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the session did not end: %+v", list)
		}
	}
	text, errOut, code := b.Hoopctl("replay", id)
	if code != 0 {
		t.Fatalf("replay: exit %d: %s", code, errOut)
	}
	golden(t, "postgres-psql.txt", text)

	js, errOut, code := b.Hoopctl("replay", id, "--format", "json")
	if code != 0 {
		t.Fatalf("replay --format json: exit %d: %s", code, errOut)
	}
	checkJSONLines(t, js, id)
}
