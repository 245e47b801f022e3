package brokertest_test

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/hoophq/hoop/internal/brokertest"
	"github.com/hoophq/hoop/protocols/postgres"
	"github.com/hoophq/hoop/session"
	"github.com/hoophq/hoop/store"
)

// A Postgres connection whose upstream nothing listens on: these tests record
// through the recorder, never through a client.
var yaml = brokertest.YAML(`  - name: pg
    protocol: postgres
    listen: 127.0.0.1:0
    upstream:
      address: 127.0.0.1:1
      user: app
      database: app
    access:
      groups: [dba]
`)

// record records one session of user with a query and its result.
func record(t *testing.T, b *brokertest.Broker, user string, end bool) string {
	t.Helper()
	s, err := b.Recorder().Start(session.Info{Connection: "pg", Protocol: "postgres",
		Principal: session.Principal{Subject: user}, Meta: map[string]string{"user": user}}, false)
	if err != nil {
		t.Fatal(err)
	}
	seq, err := s.Command(&session.Command{Type: "query", Text: "select 1"})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Result(&session.Result{Command: seq, Tag: "SELECT 1", RowCount: 1}); err != nil {
		t.Fatal(err)
	}
	if end {
		if err := s.End(session.OutcomeOK, ""); err != nil {
			t.Fatal(err)
		}
	}
	return s.ID()
}

func TestBroker(t *testing.T) {
	b := brokertest.Start(t, t.TempDir(), yaml)
	live := record(t, b, "bob", false)
	id := record(t, b, "alice", true)

	info, rec := b.OneSession(t, brokertest.ByClientUser("alice"))
	if info.ID != id || info.Outcome != session.OutcomeOK {
		t.Fatalf("session %+v; want %s ended ok", info, id)
	}
	seq := rec.SeqOf(t, "select 1")
	if got := rec.CommandsOf("query"); len(got) != 1 || got[0].Text != "select 1" {
		t.Errorf("commands %+v; want the query", got)
	}
	if res := rec.ResultsOf(seq); len(res) != 1 || res[0].Tag != "SELECT 1" {
		t.Errorf("results %+v; want SELECT 1", res)
	}
	if rec.End.Outcome != session.OutcomeOK {
		t.Errorf("end %+v; want ok", rec.End)
	}

	all := b.EventsOf(t, 1, brokertest.OnConnection("pg"))
	if len(all) != 2 || len(all[id]) != 4 || len(all[live]) != 3 {
		t.Errorf("got events of %d sessions; want alice's 4 and bob's 3 (live)", len(all))
	}
	if got := b.Sessions(t, nil); len(got) != 2 || got[0].ID != live {
		t.Errorf("sessions %+v; want bob's, then alice's", got)
	}
	if rep := b.Verify(live); rep.Status != session.StatusUnsealed {
		t.Errorf("live session: %v; want unsealed", rep)
	}

	tok := b.Token(t, "carol", "dba")
	if who, err := b.Broker.Authenticator().Authenticate(context.Background(), tok); err != nil || who.Principal.Subject != "carol" {
		t.Errorf("token identity %+v, %v; want carol", who, err)
	}
	if out, errOut, code := b.Hoopctl("sessions"); code != 0 || !strings.Contains(out, id) {
		t.Errorf("hoopctl sessions: exit %d %q %q; want alice's session", code, out, errOut)
	}

	// A restart keeps the data dir: the live session is cut, the ended one
	// still verifies.
	b.Restart(t)
	if infos := b.WaitEnded(t, 2, nil); len(infos) != 2 {
		t.Fatalf("after a restart: %+v; want both sessions ended", infos)
	}
	b.Sealed(t, id)
}

func TestHand(t *testing.T) {
	cfg, err := brokertest.WriteConfig(t.TempDir(), yaml)
	if err != nil {
		t.Fatal(err)
	}
	h := brokertest.StartHand(t, cfg, "pg", postgres.Serve)
	if h.Addr == "" || h.Token(t, "dana", "dba") == "" {
		t.Fatalf("hand broker at %q without a token", h.Addr)
	}
	h.Store.FailAll.Store(true)
	if err := h.Store.Commit(&store.Batch{}, false); !errors.Is(err, brokertest.ErrStoreFailed) {
		t.Errorf("commit with FailAll: %v; want ErrStoreFailed", err)
	}
	h.Store.FailAll.Store(false)
	h.Stop(t)
	h.Stop(t) // a second Stop does nothing
}
