package postgres_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/hoophq/hoop/broker"
	"github.com/hoophq/hoop/session"
)

const identityDenied = "the identity attached by the broker cannot be changed from the session"

// Statements that would change hoop.* are refused with a native error and a
// policy event, never reach the server, and the session goes on.
func TestIdentityGuardPsql(t *testing.T) {
	tok := srv.Token(t, "mallory", "dba")
	out, _ := psql(t, "mallory", tok,
		"-c", "SET hoop.user = 'x' /* guard-1 */",
		"-c", "select set_config('hoop.user', 'x', false) /* guard-2 */",
		"-c", `set hoop."user" to 'x' /* guard-3 */`,
		"-c", `show "hoop.user"`,
	)
	if strings.Count(out, "ERROR:  "+identityDenied) != 3 || !strings.HasSuffix(out, "mallory\n") {
		t.Fatalf("output %q; want three refusals, then hoop.user still mallory", out)
	}
	_, rec := sessionRecord(t, "mallory")
	if len(rec.Policies) != 3 {
		t.Fatalf("policy events %+v; want 3", rec.Policies)
	}
	for i, d := range rec.Policies {
		if d.Action != "deny" || d.Rule != "builtin:identity" || !d.Command.TouchesIdentity ||
			!strings.Contains(d.Command.Text, fmt.Sprintf("guard-%d", i+1)) {
			t.Errorf("policy %d: %+v; want a builtin:identity denial of guard-%d", i, d, i+1)
		}
	}
	for i := 1; i <= 3; i++ {
		assertNeverRan(t, fmt.Sprintf("guard-%d", i))
	}
}

// RESET and DISCARD ALL restore the identity: the broker's values are the
// session defaults.
func TestIdentityReset(t *testing.T) {
	tok := srv.Token(t, "resetter", "dba")
	out := mustPsql(t, "resetter", tok, "-c", `reset hoop."user"`, "-c", "discard all", "-c", "reset all", "-c", `show "hoop.user"`)
	if !strings.HasSuffix(out, "resetter\n") {
		t.Fatalf("output %q; want hoop.user resetter", out)
	}
}

// The extended protocol: a refused Execute answers ERROR 42501 in order, the
// broker skips to Sync, and the connection goes on — alone and in a batch.
func TestIdentityGuardPgx(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	c := connect(t, connMain, "trudy", "dba")
	_, err := c.Exec(ctx, "select set_config($1, 'x', false)", "hoop.user")
	var pe *pgconn.PgError
	if !errors.As(err, &pe) || pe.Code != "42501" || pe.Message != identityDenied {
		t.Fatalf("got %v; want 42501 %q", err, identityDenied)
	}
	var user string
	if err := c.QueryRow(ctx, "select current_setting('hoop.user')").Scan(&user); err != nil || user != "trudy" {
		t.Fatalf("after the refusal: %q, %v; want trudy", user, err)
	}

	b := &pgx.Batch{}
	b.Queue("select 1")
	b.Queue("select set_config('hoop.user', 'x', false) /* batch guard */")
	b.Queue("select 3")
	br := c.SendBatch(ctx, b)
	var one int
	if err := br.QueryRow().Scan(&one); err != nil || one != 1 {
		t.Fatalf("first batch query: %d, %v", one, err)
	}
	if _, err := br.Exec(); !errors.As(err, &pe) || pe.Code != "42501" {
		t.Fatalf("second batch query: %v; want 42501", err)
	}
	br.Close()
	if err := c.QueryRow(ctx, "select current_setting('hoop.user')").Scan(&user); err != nil || user != "trudy" {
		t.Fatalf("after the batch: %q, %v; want trudy", user, err)
	}
	c.Close(ctx)
	_, rec := sessionRecord(t, "trudy")
	if len(rec.Policies) != 2 {
		t.Fatalf("policies %+v; want 2", rec.Policies)
	}
	assertNeverRan(t, "batch guard")
}

// A trigger that records current_setting('hoop.user') records the token's
// user, not the upstream role.
func TestAuditTrigger(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	err := pg.Exec(ctx, "app",
		`create table if not exists audit_log(who text, groups text, what text)`,
		`create table if not exists audited(id int)`,
		`create or replace function audit_it() returns trigger language plpgsql as $$
		 begin
		   insert into audit_log values (current_setting('hoop.user', true), current_setting('hoop.groups', true), 'insert ' || new.id);
		   return new;
		 end $$`,
		`drop trigger if exists audited_trg on audited`,
		`create trigger audited_trg after insert on audited for each row execute function audit_it()`,
		`grant all on audit_log, audited to app`,
	)
	if err != nil {
		t.Fatal(err)
	}
	mustPsql(t, "carol", srv.Token(t, "carol", "dba", "oncall"), "-c", "insert into audited values (7)")
	c, err := pg.SuperuserConn(ctx, "app")
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close(ctx)
	var who, groups string
	if err := c.QueryRow(ctx, "select who, groups from audit_log where what = 'insert 7'").Scan(&who, &groups); err != nil {
		t.Fatal(err)
	}
	if who != "carol" || groups != "dba,oncall" {
		t.Fatalf("audit row %q %q; want carol dba,oncall", who, groups)
	}
}

// hoop.* in the startup packet's options is refused and recorded; other
// options are dropped.
func TestIdentityStartupOptions(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	tok := srv.Token(t, "optioned", "dba")
	cmd := psqlCmd(ctx, connMain, "optioned", tok, "require", "-c", "select 'options never ran'")
	cmd.Env = append(cmd.Env, `PGOPTIONS=-c hoop\.user=x`)
	out, err := cmd.CombinedOutput()
	if err == nil || !strings.Contains(string(out), "FATAL:  "+identityDenied) {
		t.Fatalf("psql: %v, output %q; want FATAL %q", err, out, identityDenied)
	}
	info, rec := sessionRecord(t, "optioned")
	if info.Outcome != "denied" || len(rec.Policies) != 1 || rec.Policies[0].Command.Type != "startup" {
		t.Fatalf("session %+v, policies %+v; want denied with the startup refused", info, rec.Policies)
	}
	cmd = psqlCmd(ctx, connMain, "dropped", tok, "require", "-c", "show work_mem")
	cmd.Env = append(cmd.Env, "PGOPTIONS=-c work_mem=1234kB")
	if out, err := cmd.CombinedOutput(); err != nil || string(out) == "1234kB\n" {
		t.Fatalf("psql: %v, output %q; want the options dropped", err, out)
	}
	assertNeverRan(t, "options never ran")
}

// A delegated token's actors reach hoop.actors, nearest first.
func TestIdentityActors(t *testing.T) {
	tok, err := srv.Broker.Authenticator().Issue(broker.TokenRequest{
		User: "principal", Groups: []string{"dba"}, TTL: time.Hour,
		Actors: []session.Actor{{Subject: "agent-near"}, {Subject: "agent-far"}},
	})
	if err != nil {
		t.Fatal(err)
	}
	out := mustPsql(t, "principal", tok, "-c", "select current_setting('hoop.user'), current_setting('hoop.actors')")
	if out != "principal|agent-near,agent-far\n" {
		t.Fatalf("got %q; want principal|agent-near,agent-far", out)
	}
}
