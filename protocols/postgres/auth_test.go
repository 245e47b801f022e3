package postgres_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/hoophq/hoop/broker"
	"github.com/hoophq/hoop/internal/brokertest"
	"github.com/hoophq/hoop/session"
)

// A token that does not verify is refused with the reason, which psql
// prints, and recorded as a denied session.
func TestPsqlBadToken(t *testing.T) {
	key, err := broker.LoadOrCreateKey(srv.Config.Broker.DataDir)
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	expired, err := jwt.NewWithClaims(jwt.SigningMethodEdDSA, broker.Claims{
		RegisteredClaims: jwt.RegisteredClaims{
			Issuer: "hoop", Subject: "late", Audience: jwt.ClaimStrings{broker.Audience},
			IssuedAt: jwt.NewNumericDate(now.Add(-2 * time.Hour)), ExpiresAt: jwt.NewNumericDate(now.Add(-time.Hour)),
		},
		Groups: []string{"dba"},
	}).SignedString(key)
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		user, token, reason string
	}{
		{"wrong", "not-a-token", "the password is not a token"},
		{"late", expired, "token expired"},
		{"forged", srv.Token(t, "forged", "dba") + "x", "token signature invalid"},
	} {
		out, err := psql(t, tc.user, tc.token, "-c", "select 1")
		if want := "FATAL:  password authentication failed: " + tc.reason; err == nil || !strings.Contains(out, want) {
			t.Errorf("%s: psql %v, output %q; want %q", tc.user, err, out, want)
			continue
		}
		infos := srv.WaitEnded(t, 1, brokertest.ByClientUser(tc.user))
		if infos[0].Outcome != session.OutcomeDenied || !strings.HasPrefix(infos[0].Reason, tc.reason) {
			t.Errorf("%s: session %+v; want denied: %s", tc.user, infos[0], tc.reason)
		}
		srv.Sealed(t, infos[0].ID) // sealed
	}
}

// A caller outside the connection's groups is refused before anything runs.
func TestPsqlOutsideGroups(t *testing.T) {
	out, err := psql(t, "eve", srv.Token(t, "eve", "sales"), "-c", "select 'eve was here'")
	want := `FATAL:  user "eve" is not in a group allowed to use connection "pg"`
	if err == nil || !strings.Contains(out, want) {
		t.Fatalf("psql %v, output %q; want %q", err, out, want)
	}
	info, rec := sessionRecord(t, "eve")
	if info.Outcome != session.OutcomeDenied || info.Principal.Subject != "eve" || len(rec.Commands) != 0 {
		t.Fatalf("session %+v with %d commands; want denied for eve, no commands", info, len(rec.Commands))
	}
	assertNeverRan(t, "eve was here")
}

// A listener with TLS refuses a plaintext login before asking for the
// password; one with tls: off serves it.
func TestTLSRequired(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	tok := srv.Token(t, "plain", "dba")
	out, err := psqlCmd(ctx, connMain, "plain", tok, "disable", "-c", "select 1").CombinedOutput()
	if want := "hoop: TLS is required on this connection (use sslmode=require)"; err == nil || !strings.Contains(string(out), want) {
		t.Fatalf("psql %v, output %q; want %q", err, out, want)
	}
	out, err = psqlCmd(ctx, connPlain, "plain", tok, "prefer", "-c", "select ssl from pg_stat_ssl where pid = pg_backend_pid()").CombinedOutput()
	if err != nil || string(out) != "f\n" {
		t.Fatalf("psql on tls: off: %v, output %q; want a session (upstream tls: disable)", err, out)
	}
	out, err = psqlCmd(ctx, connMain, "plain", tok, "require", "-c", "select ssl from pg_stat_ssl where pid = pg_backend_pid()").CombinedOutput()
	if err != nil || string(out) != "t\n" {
		t.Fatalf("psql: %v, output %q; want upstream TLS (tls: require)", err, out)
	}
}

// assertNeverRan checks the server's statement log.
func assertNeverRan(t *testing.T, marker string) {
	t.Helper()
	stmts, err := pg.Statements("app")
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range stmts {
		if strings.Contains(s, marker) {
			t.Fatalf("the server ran %q", s)
		}
	}
}
