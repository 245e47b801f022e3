package kube_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/hoophq/hoop/broker"
	"github.com/hoophq/hoop/config"
	"github.com/hoophq/hoop/internal/cli"
	"github.com/hoophq/hoop/internal/server"
	"github.com/hoophq/hoop/session"
	"github.com/hoophq/hoop/store"
)

// testBroker is an in-process broker started from a YAML configuration.
type testBroker struct {
	t   testing.TB
	dir string
	srv *server.Server
}

func startBroker(t testing.TB, dir, yaml string) *testBroker {
	t.Helper()
	if err := os.WriteFile(filepath.Join(dir, "admin.token"), []byte("admin-token\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	file := filepath.Join(dir, "broker.yaml")
	if err := os.WriteFile(file, []byte(yaml), 0o600); err != nil {
		t.Fatal(err)
	}
	cfg, err := config.Load(file)
	if err != nil {
		t.Fatal(err)
	}
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	if testing.Verbose() {
		log = slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	srv, err := server.Start(context.Background(), cfg, log)
	if err != nil {
		t.Fatal(err)
	}
	b := &testBroker{t: t, dir: dir, srv: srv}
	t.Cleanup(func() {
		if err := srv.Close(); err != nil {
			t.Errorf("broker close: %v", err)
		}
	})
	return b
}

func (b *testBroker) token(user string, groups ...string) string {
	b.t.Helper()
	tok, err := b.srv.Broker.Authenticator().Issue(broker.TokenRequest{User: user, Groups: groups, TTL: time.Hour})
	if err != nil {
		b.t.Fatal(err)
	}
	return tok
}

// ca is the broker's generated listener certificate, to trust it.
func (b *testBroker) ca() string { return filepath.Join(b.dir, "data", broker.CertFile) }

// sessions returns the sessions of connection conn with their events, after
// waiting until n of them have ended (sealed).
func (b *testBroker) sessions(conn string, n int) map[string][]*session.Event {
	b.t.Helper()
	for deadline := time.Now().Add(30 * time.Second); ; {
		out := map[string][]*session.Event{}
		ended := 0
		err := b.srv.Store.Sessions(func(e store.Entry) bool {
			var info session.Info
			if json.Unmarshal(e.Data, &info) != nil || info.Connection != conn {
				return true
			}
			if info.Outcome != "" {
				ended++
			}
			out[info.ID] = nil
			return true
		})
		if err != nil {
			b.t.Fatal(err)
		}
		if ended >= n {
			for id := range out {
				out[id] = b.events(id)
			}
			return out
		}
		if time.Now().After(deadline) {
			b.t.Fatalf("connection %s: %d sessions ended; want %d", conn, ended, n)
		}
		select {
		case <-b.srv.Recorder().Committed():
		case <-time.After(50 * time.Millisecond):
		}
	}
}

// events reads and verifies the events of one session.
func (b *testBroker) events(id string) []*session.Event {
	b.t.Helper()
	ch := session.NewChain(id, b.srv.Recorder().PublicKey())
	var evs []*session.Event
	err := b.srv.Store.Records(id, 0, func(r store.Record) bool {
		ev, err := ch.Add(r.Seq, r.Data)
		if err != nil {
			b.t.Errorf("session %s seq %d: %v", id, r.Seq, err)
			return false
		}
		evs = append(evs, ev)
		return true
	})
	if err != nil {
		b.t.Fatal(err)
	}
	return evs
}

// verify re-reads a session and reports what verification finds.
func verify(b *testBroker, id string) session.Report {
	ch := session.NewChain(id, b.srv.Recorder().PublicKey())
	b.srv.Store.Records(id, 0, func(r store.Record) bool {
		_, err := ch.Add(r.Seq, r.Data)
		return err == nil
	})
	return ch.Report()
}

func decode[T any](t *testing.T, ev *session.Event) *T {
	t.Helper()
	var v T
	if err := json.Unmarshal(ev.Payload, &v); err != nil {
		t.Fatalf("seq %d: %v", ev.Seq, err)
	}
	return &v
}

// hoopctl runs the CLI against the broker's admin API.
func (b *testBroker) hoopctl(args ...string) (string, string, int) {
	var out, errb bytes.Buffer
	code := cli.Run(append([]string{"--server", "http://" + b.srv.AdminAddr(), "--admin-token", "admin-token"}, args...), &out, &errb)
	return out.String(), errb.String(), code
}
