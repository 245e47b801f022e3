package mysql_test

import (
	"bytes"
	"context"
	"github.com/hoophq/hoop/internal/brokertest"
	"strings"
	"syscall"
	"testing"
	"time"
)

// Ctrl-C in the mariadb client opens a second connection that sends
// KILL QUERY with the thread id of the greeting; the broker maps it to the
// upstream's thread and the sleep ends at once.
func TestMariadbCtrlC(t *testing.T) {
	tok := token(t, "carol", "dba")
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	cmd := mariadbCmd(ctx, connMain, "carol", tok, "-B", "-e", "SELECT SLEEP(30) AS slept")
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	waitRunning(t, "SELECT SLEEP(30) AS slept", &out)
	start := time.Now()
	cmd.Process.Signal(syscall.SIGINT)
	err := cmd.Wait()
	t.Logf("client returned %v after SIGINT (%v): %q", err, time.Since(start), out.String())
	if ctx.Err() != nil {
		t.Fatalf("the client hung")
	}
	// The sleep ran its 30 seconds unless it was killed: SLEEP returns 1 when
	// interrupted (or the statement fails with 1317).
	if s := out.String(); !strings.Contains(s, "slept\n1\n") && !strings.Contains(s, "1317") {
		t.Errorf("output %q; want the interrupted sleep", s)
	}
	infos := srv.WaitEnded(t, 2, brokertest.ByClientUser("carol"))
	var kills int
	for _, info := range infos {
		rec := brokertest.Decode(t, srv.Sealed(t, info.ID))
		for _, seq := range rec.Order {
			if c := rec.Commands[seq]; c.Type == "kill" {
				kills++
				t.Logf("kill recorded: %q", c.Text)
			}
		}
	}
	if kills != 1 {
		t.Errorf("%d kill commands recorded; want 1", kills)
	}
}
