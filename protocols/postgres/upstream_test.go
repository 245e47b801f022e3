package postgres_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgconn"

	"github.com/hoophq/hoop/internal/brokertest"
	"github.com/hoophq/hoop/session"
)

// The upstream's certificate is verified against the configured CA and name;
// a mismatch is FATAL 08001 naming the connection and the reason.
func TestUpstreamTLSVerify(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	tok := srv.Token(t, "verifier", "dba")
	out, err := psqlCmd(ctx, connVerify, "verifier", tok, "require", "-c", "select ssl from pg_stat_ssl where pid = pg_backend_pid()").CombinedOutput()
	if err != nil || string(out) != "t\n" {
		t.Fatalf("psql on verify-full: %v %q", err, out)
	}
	out, err = psqlCmd(ctx, connBadTLS, "misnamed", tok, "require", "-c", "select 'never'").CombinedOutput()
	want := "FATAL:  hoop: could not connect to upstream pg-badtls: "
	if err == nil || !strings.Contains(string(out), want) || !strings.Contains(string(out), "wrong.example") {
		t.Fatalf("psql: %v, output %q; want %q and the name", err, out, want)
	}
	if strings.Contains(string(out), pg.Password) {
		t.Fatal("the upstream password reached the client")
	}
	info := srv.WaitEnded(t, 1, brokertest.ByClientUser("misnamed"))[0]
	if info.Outcome != session.OutcomeError || !strings.Contains(info.Reason, "could not connect to upstream") {
		t.Fatalf("session %+v; want an error", info)
	}
}

// When the server ends the session (pg_terminate_backend), the client sees
// the server's FATAL and the session ends in error with its message.
func TestUpstreamTerminated(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	c, err := pgconn.Connect(ctx, dsn(connMain, "terminated", "require")+" password="+srv.Token(t, "terminated", "dba"))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close(ctx)
	res, err := c.Exec(ctx, "select pg_backend_pid()").ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	pid := string(res[0].Rows[0][0])
	if err := pg.Exec(ctx, "app", "select pg_terminate_backend("+pid+")"); err != nil {
		t.Fatal(err)
	}
	_, err = c.Exec(ctx, "select 1").ReadAll()
	var pe *pgconn.PgError
	if err == nil || errors.As(err, &pe) && pe.Code != "57P01" {
		t.Fatalf("after the backend was terminated: %v; want an error (57P01)", err)
	}
	info := srv.WaitEnded(t, 1, brokertest.ByClientUser("terminated"))[0]
	if info.Outcome != session.OutcomeError || !strings.Contains(info.Reason, "terminating connection due to administrator command") {
		t.Fatalf("session %+v; want the server's reason", info)
	}
}
