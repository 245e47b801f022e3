package brokertest

import (
	"context"
	"errors"
	"net"
	"path/filepath"
	"sync/atomic"
	"testing"
	"time"

	"github.com/hoophq/hoop/broker"
	"github.com/hoophq/hoop/config"
	"github.com/hoophq/hoop/internal/server"
	"github.com/hoophq/hoop/session"
	"github.com/hoophq/hoop/store"
)

// ErrStoreFailed is what a FailingStore's failed commits return.
var ErrStoreFailed = errors.New("disk on fire")

// FailingStore is a real store whose commits fail on demand with
// ErrStoreFailed: a full disk, a failed device.
type FailingStore struct {
	*store.Bolt
	// FailCommands fails the commits that hold a command record: sessions
	// start, then their next command cannot be recorded.
	FailCommands atomic.Bool
	// FailAll fails every commit.
	FailAll atomic.Bool
}

var _ session.Store = (*FailingStore)(nil)

// Commit fails as set, or commits b.
func (f *FailingStore) Commit(b *store.Batch, fsync bool) error {
	if f.FailAll.Load() {
		return ErrStoreFailed
	}
	if f.FailCommands.Load() {
		for _, r := range b.Records {
			if rec, err := session.ParseRecord(r.Data); err == nil && rec.Kind == session.KindCommand {
				return ErrStoreFailed
			}
		}
	}
	return f.Bolt.Commit(b, fsync)
}

// Hand is a broker assembled by hand around one connection, recording into a
// FailingStore of its own, serving on a loopback port.
type Hand struct {
	Recording
	Broker *broker.Broker
	Store  *FailingStore
	Addr   string // the connection's listener

	cancel  context.CancelFunc
	served  chan error // serve's return
	stopped bool
}

// StartHand serves connection conn of cfg with serve. It signs with the key in
// cfg's data dir (created if missing), so tokens of a broker running on the
// same configuration are good for it too. The test's end stops it.
func StartHand(t testing.TB, cfg *config.Config, conn string, serve server.Protocol) *Hand {
	t.Helper()
	c := cfg.Connection(conn)
	if c == nil {
		t.Fatalf("no connection %q in %s", conn, cfg.File)
	}
	key, err := broker.LoadOrCreateKey(cfg.Broker.DataDir)
	if err != nil {
		t.Fatal(err)
	}
	bolt, err := store.Open(filepath.Join(t.TempDir(), server.StoreFile), store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { bolt.Close() })
	st := &FailingStore{Bolt: bolt}
	rec := session.NewRecorder(st, session.Options{Key: key, BrokerID: "hand"})
	t.Cleanup(func() { rec.Close() })
	b := broker.New(cfg, key, rec, Logger())
	ep, err := b.Endpoint(c)
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	h := &Hand{Recording: Recording{st: st, rec: rec}, Broker: b, Store: st, Addr: ln.Addr().String(),
		cancel: cancel, served: make(chan error, 1)}
	go func() { h.served <- serve(ctx, ln, ep) }()
	t.Cleanup(func() { h.Stop(t) })
	return h
}

// Stop cancels serve's context and waits for it to return, which it must do
// with nil once its sessions have ended. Stopping twice does nothing.
func (h *Hand) Stop(t testing.TB) {
	t.Helper()
	if h.stopped {
		return
	}
	h.stopped = true
	h.cancel()
	select {
	case err := <-h.served:
		if err != nil {
			t.Errorf("Serve returned %v; want nil", err)
		}
	case <-time.After(20 * time.Second):
		t.Fatal("Serve did not return after its context ended")
	}
}

// Token issues a token of the hand-built broker for user in groups.
func (h *Hand) Token(t testing.TB, user string, groups ...string) string {
	t.Helper()
	return issue(t, h.Broker, user, groups)
}
