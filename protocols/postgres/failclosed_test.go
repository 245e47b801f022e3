package postgres_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgconn"

	"github.com/hoophq/hoop/internal/brokertest"
	"github.com/hoophq/hoop/protocols/postgres"
	"github.com/hoophq/hoop/session"
)

// newHandBroker serves the main connection from a broker built by hand,
// recording into a store whose commits can be made to fail.
func newHandBroker(t *testing.T) *brokertest.Hand {
	t.Helper()
	cfg, err := brokertest.WriteConfig(t.TempDir(), testConfig())
	if err != nil {
		t.Fatal(err)
	}
	return brokertest.StartHand(t, cfg, connMain, postgres.Serve)
}

// When the store can't record a command, the command is refused with a
// native FATAL and never reaches the server.
func TestFailClosed(t *testing.T) {
	hb := newHandBroker(t)
	tok := hb.Token(t, "doomed", "dba")
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	// The broker works while the store does.
	out, err := psqlAddr(ctx, hb.Addr, "doomed", tok, "require", "-c", "select 'before the fire'").CombinedOutput()
	if err != nil || string(out) != "before the fire\n" {
		t.Fatalf("psql: %v %q", err, out)
	}
	hb.Store.FailCommands.Store(true)
	out, err = psqlAddr(ctx, hb.Addr, "doomed", tok, "require", "-c", "select 'fail_closed_marker'").CombinedOutput()
	want := "FATAL:  hoop: the session can't be recorded; command refused"
	if err == nil || !strings.Contains(string(out), want) {
		t.Fatalf("psql: %v, output %q; want %q", err, out, want)
	}
	// pgx sees the same refusal on an extended-protocol Execute.
	c, err := pgconn.Connect(ctx, dsnAddr(hb.Addr, "doomed", "require")+" password="+tok)
	if err != nil {
		t.Fatal(err)
	}
	_, err = c.Exec(ctx, "select 'fail_closed_marker_2'").ReadAll()
	var pe *pgconn.PgError
	if !errors.As(err, &pe) || pe.Code != "58030" || pe.Severity != "FATAL" {
		t.Fatalf("pgconn: %v; want FATAL 58030", err)
	}
	c.Close(ctx)
	assertNeverRan(t, "fail_closed_marker")
	infos := hb.WaitEnded(t, 3, brokertest.ByClientUser("doomed"))
	for _, info := range infos[1:] {
		if info.Outcome != session.OutcomeError || !strings.Contains(info.Reason, "disk on fire") {
			t.Errorf("session %+v; want an error naming the store's failure", info)
		}
	}
}

// Serve returns only once its sessions have ended: a shutdown tells clients
// (FATAL 57P01) and seals their sessions.
func TestServeShutdown(t *testing.T) {
	hb := newHandBroker(t)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	tok := hb.Token(t, "lingerer", "dba")
	c, err := pgconn.Connect(ctx, dsnAddr(hb.Addr, "lingerer", "require")+" password="+tok)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close(ctx)
	sleeper := psqlAddr(ctx, hb.Addr, "lingerer", tok, "require", "-c", "select pg_sleep(30) /* shutdown sleeper */")
	var out strings.Builder
	sleeper.Stdout, sleeper.Stderr = &out, &out
	if err := sleeper.Start(); err != nil {
		t.Fatal(err)
	}
	waitActive(t, ctx, "shutdown sleeper")
	hb.Stop(t)
	if err := sleeper.Wait(); err == nil || !strings.Contains(out.String(), "hoop: the broker is shutting down") {
		t.Fatalf("psql: %v, output %q; want the shutdown FATAL", err, out.String())
	}
	if _, err := c.Exec(ctx, "select 1").ReadAll(); err == nil {
		t.Fatal("a query after the shutdown succeeded")
	}
	infos := hb.WaitEnded(t, 2, brokertest.ByClientUser("lingerer"))
	for _, info := range infos {
		if info.Outcome != session.OutcomeError || !strings.Contains(info.Reason, "shutting down") {
			t.Errorf("session %+v; want ended by the shutdown", info)
		}
		hb.Sealed(t, info.ID)
	}
}
