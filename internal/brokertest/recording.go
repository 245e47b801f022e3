package brokertest

import (
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/hoophq/hoop/session"
	"github.com/hoophq/hoop/store"
)

// Store is the part of a store that Recording reads.
type Store interface {
	Sessions(fn func(e store.Entry) bool) error
	Records(id string, after uint64, fn func(r store.Record) bool) error
}

var (
	_ Store = (*store.Bolt)(nil)
	_ Store = (*FailingStore)(nil)
)

// Recording reads back what a broker recorded: the sessions in its store and
// their events, verified with its recorder's key. Broker and Hand embed one;
// it is valid while their store is open.
type Recording struct {
	st  Store
	rec *session.Recorder // its key verifies; its commits wake waiters
}

// A Match selects sessions by their Info. A nil Match selects every session.
type Match func(session.Info) bool

// OnConnection matches the sessions of the named broker connection.
func OnConnection(name string) Match {
	return func(i session.Info) bool { return i.Connection == name }
}

// ByClientUser matches the sessions whose client gave user at login
// (Info.Meta["user"]: the startup user of Postgres, the login user of MySQL).
func ByClientUser(user string) Match {
	return func(i session.Info) bool { return i.Meta["user"] == user }
}

// Sessions returns the sessions that match, ended or not, oldest first.
func (r Recording) Sessions(t testing.TB, match Match) []session.Info {
	t.Helper()
	var out []session.Info
	var bad error
	err := r.st.Sessions(func(e store.Entry) bool {
		var info session.Info
		if err := json.Unmarshal(e.Data, &info); err != nil {
			bad = fmt.Errorf("session %s: %w", e.ID, err)
			return false
		}
		if match == nil || match(info) {
			out = append(out, info)
		}
		return true
	})
	if err := errors.Join(err, bad); err != nil {
		t.Fatal(err)
	}
	slices.Reverse(out) // the store lists newest first
	return out
}

// WaitEnded waits until n sessions that match have ended and returns the
// ended ones, oldest first.
func (r Recording) WaitEnded(t testing.TB, n int, match Match) []session.Info {
	t.Helper()
	deadline := time.After(hangGuard)
	for {
		committed := r.rec.Committed() // before reading, so no commit is missed
		all := r.Sessions(t, match)
		var ended []session.Info
		for _, s := range all {
			if s.Outcome != "" {
				ended = append(ended, s)
			}
		}
		if len(ended) >= n {
			return ended
		}
		select {
		case <-committed:
		case <-time.After(50 * time.Millisecond):
		case <-deadline:
			t.Fatalf("%d of %d matching sessions ended; want %d ended: %+v", len(ended), len(all), n, all)
		}
	}
}

// OneSession waits for the session that matches to end, checks that it is the
// only one, and decodes its events, which must verify sealed.
func (r Recording) OneSession(t testing.TB, match Match) (session.Info, *Recorded) {
	t.Helper()
	infos := r.WaitEnded(t, 1, match)
	if len(infos) != 1 {
		t.Fatalf("%d matching sessions: %+v; want 1", len(infos), infos)
	}
	return infos[0], Decode(t, r.Sealed(t, infos[0].ID))
}

// EventsOf waits until n sessions that match have ended and returns the
// verified events of every session that matches, ended or not, by id.
func (r Recording) EventsOf(t testing.TB, n int, match Match) map[string][]*session.Event {
	t.Helper()
	r.WaitEnded(t, n, match)
	out := map[string][]*session.Event{}
	for _, s := range r.Sessions(t, match) {
		out[s.ID] = r.Events(t, s.ID)
	}
	return out
}

// Events reads a session's events back through its hash chain; a record that
// does not verify fails the test. A live session's events verify too.
func (r Recording) Events(t testing.TB, id string) []*session.Event {
	t.Helper()
	evs, _ := r.read(t, id)
	return evs
}

// Sealed is Events for a session that must have ended sealed by the
// recorder's key.
func (r Recording) Sealed(t testing.TB, id string) []*session.Event {
	t.Helper()
	evs, rep := r.read(t, id)
	if rep.Status != session.StatusSealed {
		t.Fatalf("session %s: %v; want sealed", id, rep)
	}
	return evs
}

func (r Recording) read(t testing.TB, id string) ([]*session.Event, session.Report) {
	t.Helper()
	ch := session.NewChain(id, r.rec.PublicKey())
	var evs []*session.Event
	var bad error
	err := r.st.Records(id, 0, func(rec store.Record) bool {
		ev, err := ch.Add(rec.Seq, rec.Data)
		if err != nil {
			bad = fmt.Errorf("seq %d: %w", rec.Seq, err)
			return false
		}
		evs = append(evs, ev)
		return true
	})
	if err := errors.Join(err, bad); err != nil {
		t.Fatalf("session %s: %v", id, err)
	}
	return evs, ch.Report()
}

// Verify reads a session through its hash chain and reports what
// verification finds, as hoopctl verify would.
func (r Recording) Verify(id string) session.Report {
	ch := session.NewChain(id, r.rec.PublicKey())
	r.st.Records(id, 0, func(rec store.Record) bool {
		_, err := ch.Add(rec.Seq, rec.Data)
		return err == nil
	})
	return ch.Report()
}
