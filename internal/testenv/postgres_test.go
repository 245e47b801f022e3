package testenv

import (
	"context"
	"testing"

	"github.com/jackc/pgx/v5"
)

func TestPostgres(t *testing.T) {
	p, err := StartPostgres("")
	if err != nil {
		t.Fatal(err)
	}
	defer p.Stop()
	ctx := context.Background()
	c, err := pgx.Connect(ctx, p.DSN())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close(ctx)
	var ssl bool
	if err := c.QueryRow(ctx, "select ssl from pg_stat_ssl where pid = pg_backend_pid()").Scan(&ssl); err != nil || !ssl {
		t.Fatalf("ssl = %v, %v; want a TLS connection", ssl, err)
	}
	stmts, err := p.Statements("app")
	if err != nil || len(stmts) == 0 {
		t.Fatalf("statements %q, %v; want the logged select", stmts, err)
	}
}
