package mysql_test

import (
	"bytes"
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/hoophq/hoop/internal/brokertest"
	mysqlproto "github.com/hoophq/hoop/protocols/mysql"
	"github.com/hoophq/hoop/session"
)

// Serve returns only once its sessions have ended: a shutdown cuts the
// client connections and their sessions end sealed, saying why.
func TestServeShutdown(t *testing.T) {
	integration(t)
	cfg, err := brokertest.WriteConfig(t.TempDir(), testConfig(db.Addr()))
	if err != nil {
		t.Fatal(err)
	}
	hb := brokertest.StartHand(t, cfg, connMain, mysqlproto.Serve)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	// Unique per run: the upstream sleeps on after its client is gone.
	sleep := fmt.Sprintf("SELECT SLEEP(30) AS shutdown_sleeper_%d", time.Now().UnixNano())
	cmd := mariadbAddrCmd(ctx, hb.Addr, true, "lingerer", hb.Token(t, "lingerer", "dba"), "-B", "-e", sleep)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	waitRunning(t, sleep, &out)
	hb.Stop(t)
	if err := cmd.Wait(); err == nil || ctx.Err() != nil {
		t.Fatalf("mariadb: %v, output %q; want the connection lost at once", err, out.String())
	}
	infos := hb.WaitEnded(t, 1, brokertest.ByClientUser("lingerer"))
	if info := infos[0]; info.Outcome != session.OutcomeError || !strings.Contains(info.Reason, "shutting down") {
		t.Errorf("session %+v; want ended by the shutdown", info)
	}
	hb.Sealed(t, infos[0].ID)
}
