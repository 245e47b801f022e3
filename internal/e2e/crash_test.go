package e2e

import (
	"encoding/json"
	"fmt"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/hoophq/hoop/session"
)

// TestKill9 kills the broker with SIGKILL while a client writes through it.
// After a restart, every statement Postgres executed is in the store, the store
// opens cleanly, and the cut session verifies as unsealed with an intact chain.
func TestKill9(t *testing.T) {
	if testing.Short() {
		t.Skip("starts servers")
	}
	pg := startPostgres(t)
	if err := pg.Exec(bg(), "app", "CREATE TABLE kill_test (n int)", "GRANT ALL ON kill_test TO app"); err != nil {
		t.Fatal(err)
	}
	b := newBroker(t, pg)
	b.start()
	token := b.token("writer", "dba")

	cfg, err := pgx.ParseConfig(b.dsn("writer", token))
	if err != nil {
		t.Fatal(err)
	}
	cfg.DefaultQueryExecMode = pgx.QueryExecModeSimpleProtocol
	conn, err := pgx.ConnectConfig(bg(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	acked := make(chan int, 1<<16)
	loopErr := make(chan error, 1)
	go func() {
		for n := 1; ; n++ {
			if _, err := conn.Exec(bg(), fmt.Sprintf("INSERT INTO kill_test VALUES (%d)", n)); err != nil {
				loopErr <- err
				return
			}
			acked <- n
		}
	}()
	// Let the loop run for a while, then kill the broker mid-stream.
	for range 300 {
		select {
		case <-acked:
		case err := <-loopErr:
			t.Fatalf("client loop failed before the kill: %v", err)
		case <-time.After(60 * time.Second):
			t.Fatal("client loop stalled")
		}
	}
	if err := b.cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	<-b.done
	select {
	case <-loopErr:
	case <-time.After(60 * time.Second):
		t.Fatal("the client did not notice the broker's death")
	}

	// What Postgres executed: the rows, and its statement log.
	executed := map[string]bool{}
	rows, err := pgx.Connect(bg(), pg.DSN())
	if err != nil {
		t.Fatal(err)
	}
	var ns []int
	r, _ := rows.Query(bg(), "SELECT n FROM kill_test ORDER BY n")
	for r.Next() {
		var n int
		r.Scan(&n)
		ns = append(ns, n)
		executed[fmt.Sprintf("INSERT INTO kill_test VALUES (%d)", n)] = true
	}
	rows.Close(bg())
	logged, err := pg.Statements(pg.User)
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range logged {
		if strings.HasPrefix(s, "INSERT INTO kill_test") { // not this test's own SELECT
			executed[s] = true
		}
	}
	if len(ns) < 300 {
		t.Fatalf("only %d rows made it; want at least the 300 acknowledged", len(ns))
	}

	// Restart on the same data dir: the store must open cleanly.
	b.start()
	out, errOut, code := b.ctl("sessions", "--json")
	if code != 0 {
		t.Fatalf("sessions: exit %d: %s", code, errOut)
	}
	var infos []session.Info
	if err := json.Unmarshal([]byte(out), &infos); err != nil {
		t.Fatalf("sessions --json: %v\n%s", err, out)
	}
	var cut *session.Info
	for i := range infos {
		if infos[i].Principal.Subject == "writer" {
			cut = &infos[i]
		}
	}
	if cut == nil {
		t.Fatalf("the writer's session is not listed: %s", out)
	}
	if cut.Outcome != session.OutcomeKilled {
		t.Errorf("cut session outcome = %q; want %q", cut.Outcome, session.OutcomeKilled)
	}

	out, errOut, code = b.ctl("replay", cut.ID, "--format", "json")
	if code != 0 {
		t.Fatalf("replay: exit %d: %s", code, errOut)
	}
	recorded := map[string]bool{}
	for _, line := range strings.Split(strings.TrimSpace(out), "\n") {
		var ev struct {
			Kind    session.Kind    `json:"kind"`
			Payload session.Command `json:"payload"`
		}
		if err := json.Unmarshal([]byte(line), &ev); err != nil {
			t.Fatalf("replay json line %q: %v", line, err)
		}
		if ev.Kind == session.KindCommand {
			recorded[ev.Payload.Text] = true
		}
	}
	missing := 0
	for s := range executed {
		if !recorded[s] {
			missing++
			if missing < 5 {
				t.Errorf("Postgres executed %q, which is not in the store", s)
			}
		}
	}
	if missing > 0 {
		t.Fatalf("%d executed statements are not recorded (of %d executed, %d recorded)", missing, len(executed), len(recorded))
	}
	t.Logf("%d statements executed, %d recorded; the kill came after row %d", len(executed), len(recorded), ns[len(ns)-1])

	out, errOut, code = b.ctl("verify", "--all")
	if code != 0 {
		t.Fatalf("verify --all: exit %d\n%s%s", code, out, errOut)
	}
	var line string
	for _, l := range strings.Split(out, "\n") {
		if strings.Contains(l, cut.ID) {
			line = l
		}
	}
	if !strings.Contains(line, "unsealed") || !strings.Contains(line, "chain intact") {
		t.Fatalf("verify says %q for the cut session; want unsealed with an intact chain\n%s", line, out)
	}
}
