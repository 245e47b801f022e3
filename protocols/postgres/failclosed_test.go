package postgres_test

import (
	"context"
	"errors"
	"net"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgconn"

	"github.com/hoophq/hoop/broker"
	"github.com/hoophq/hoop/config"
	"github.com/hoophq/hoop/protocols/postgres"
	"github.com/hoophq/hoop/session"
	"github.com/hoophq/hoop/store"
)

// failingStore is a store whose commits of command records fail on demand:
// sessions start, then their first command can't be recorded.
type failingStore struct {
	*store.Bolt
	failCommands atomic.Bool
}

func (f *failingStore) Commit(b *store.Batch, fsync bool) error {
	if f.failCommands.Load() {
		for _, r := range b.Records {
			if rec, err := session.ParseRecord(r.Data); err == nil && rec.Kind == session.KindCommand {
				return errors.New("disk on fire")
			}
		}
	}
	return f.Bolt.Commit(b, fsync)
}

// handBroker is a broker assembled by hand around one postgres endpoint.
type handBroker struct {
	broker  *broker.Broker
	rec     *session.Recorder
	st      *failingStore
	addr    string
	cancel  context.CancelFunc
	served  chan error // Serve's return
	stopped bool
}

func newHandBroker(t *testing.T) *handBroker {
	t.Helper()
	dir := t.TempDir()
	cfg, err := config.Parse("hand.yaml", []byte(testConfig(dir, pg.Addr(), allListens())))
	if err != nil {
		t.Fatal(err)
	}
	key, err := broker.LoadOrCreateKey(dir)
	if err != nil {
		t.Fatal(err)
	}
	bolt, err := store.Open(filepath.Join(dir, "events.db"), store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	st := &failingStore{Bolt: bolt}
	rec := session.NewRecorder(st, session.Options{Key: key, BrokerID: "hand"})
	b := broker.New(cfg, key, rec, testLogger())
	ep, err := b.Endpoint(cfg.Connection(connMain))
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	hb := &handBroker{broker: b, rec: rec, st: st, addr: ln.Addr().String(), cancel: cancel, served: make(chan error, 1)}
	go func() { hb.served <- postgres.Serve(ctx, ln, ep) }()
	t.Cleanup(func() {
		hb.stop(t)
		rec.Close()
		bolt.Close()
	})
	return hb
}

// stop cancels Serve and waits for it to return.
func (hb *handBroker) stop(t *testing.T) {
	t.Helper()
	if hb.stopped {
		return
	}
	hb.stopped = true
	hb.cancel()
	select {
	case err := <-hb.served:
		if err != nil {
			t.Errorf("Serve returned %v; want nil", err)
		}
	case <-time.After(20 * time.Second):
		t.Fatal("Serve did not return after its context ended")
	}
}

func (hb *handBroker) token(t *testing.T, user string) string {
	t.Helper()
	tok, err := hb.broker.Authenticator().Issue(broker.TokenRequest{User: user, Groups: []string{"dba"}, TTL: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

// When the store can't record a command, the command is refused with a
// native FATAL and never reaches the server.
func TestFailClosed(t *testing.T) {
	hb := newHandBroker(t)
	tok := hb.token(t, "doomed")
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	// The broker works while the store does.
	out, err := psqlAddr(ctx, hb.addr, "doomed", tok, "require", "-c", "select 'before the fire'").CombinedOutput()
	if err != nil || string(out) != "before the fire\n" {
		t.Fatalf("psql: %v %q", err, out)
	}
	hb.st.failCommands.Store(true)
	out, err = psqlAddr(ctx, hb.addr, "doomed", tok, "require", "-c", "select 'fail_closed_marker'").CombinedOutput()
	want := "FATAL:  hoop: the session can't be recorded; command refused"
	if err == nil || !strings.Contains(string(out), want) {
		t.Fatalf("psql: %v, output %q; want %q", err, out, want)
	}
	// pgx sees the same refusal on an extended-protocol Execute.
	c, err := pgconn.Connect(ctx, dsnAddr(hb.addr, "doomed", "require")+" password="+tok)
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
	infos := sessionsOf(t, hb.st, "doomed", 3)
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
	tok := hb.token(t, "lingerer")
	c, err := pgconn.Connect(ctx, dsnAddr(hb.addr, "lingerer", "require")+" password="+tok)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close(ctx)
	sleeper := psqlAddr(ctx, hb.addr, "lingerer", tok, "require", "-c", "select pg_sleep(30) /* shutdown sleeper */")
	var out strings.Builder
	sleeper.Stdout, sleeper.Stderr = &out, &out
	if err := sleeper.Start(); err != nil {
		t.Fatal(err)
	}
	waitActive(t, ctx, "shutdown sleeper")
	hb.stop(t)
	if err := sleeper.Wait(); err == nil || !strings.Contains(out.String(), "hoop: the broker is shutting down") {
		t.Fatalf("psql: %v, output %q; want the shutdown FATAL", err, out.String())
	}
	if _, err := c.Exec(ctx, "select 1").ReadAll(); err == nil {
		t.Fatal("a query after the shutdown succeeded")
	}
	infos := sessionsOf(t, hb.st, "lingerer", 2)
	for _, info := range infos {
		if info.Outcome != session.OutcomeError || !strings.Contains(info.Reason, "shutting down") {
			t.Errorf("session %+v; want ended by the shutdown", info)
		}
		eventsSealedBy(t, hb.st, info.ID, hb.rec.PublicKey())
	}
}
