package session_test

import (
	"crypto/ed25519"
	"errors"
	"fmt"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/hoophq/hoop/session"
	"github.com/hoophq/hoop/store"
	"github.com/hoophq/hoop/store/storetest"
)

func newRecorder(t testing.TB) (*session.Recorder, *store.Bolt, ed25519.PublicKey, string) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "events.db")
	st, err := store.Open(path, store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	pub, key, _ := ed25519.GenerateKey(nil)
	rec := session.NewRecorder(st, session.Options{Key: key, BrokerID: "test"})
	t.Cleanup(func() {
		rec.Close()
		st.Close()
	})
	return rec, st, pub, path
}

func verify(t *testing.T, st *store.Bolt, id string, pub ed25519.PublicKey) session.Report {
	t.Helper()
	c := session.NewChain(id, pub)
	if err := st.Records(id, 0, func(r store.Record) bool {
		c.Add(r.Seq, r.Data)
		return true
	}); err != nil {
		t.Fatal(err)
	}
	return c.Report()
}

// Concurrent sessions share commits; every chain verifies sealed and the
// records of each session are dense and in order.
func TestRecorderConcurrentSessions(t *testing.T) {
	rec, st, pub, _ := newRecorder(t)
	const sessions, commands = 16, 50
	ids := make([]string, sessions)
	var wg sync.WaitGroup
	for i := range sessions {
		wg.Add(1)
		go func() {
			defer wg.Done()
			s, err := rec.Start(session.Info{Connection: "c", Protocol: "test"}, i%2 == 0)
			if err != nil {
				t.Error(err)
				return
			}
			ids[i] = s.ID()
			for j := range commands {
				seq, err := s.Command(&session.Command{Type: "query", Text: fmt.Sprintf("select %d", j)})
				if err != nil {
					t.Error(err)
					return
				}
				if err := s.Result(&session.Result{Command: seq, RowCount: 1}); err != nil {
					t.Error(err)
					return
				}
			}
			if err := s.End(session.OutcomeOK, ""); err != nil {
				t.Error(err)
			}
		}()
	}
	wg.Wait()
	for _, id := range ids {
		r := verify(t, st, id, pub)
		if r.Status != session.StatusSealed || r.Records != 2+2*commands {
			t.Errorf("got %v; want sealed with %d records", r, 2+2*commands)
		}
	}
}

// An altered record breaks the chain at its sequence number; a session without
// session.end verifies unsealed.
func TestVerifyNamesAlteredRecord(t *testing.T) {
	rec, st, pub, path := newRecorder(t)
	s, err := rec.Start(session.Info{Connection: "c"}, false)
	if err != nil {
		t.Fatal(err)
	}
	for i := range 5 {
		if _, err := s.Command(&session.Command{Type: "query", Text: fmt.Sprint("select ", i)}); err != nil {
			t.Fatal(err)
		}
	}
	cut, _ := rec.Start(session.Info{Connection: "c"}, false)
	cut.Command(&session.Command{Type: "query", Text: "select 1"})
	if err := s.End(session.OutcomeOK, ""); err != nil {
		t.Fatal(err)
	}
	if r := verify(t, st, s.ID(), pub); r.Status != session.StatusSealed {
		t.Fatalf("got %v; want sealed", r)
	}
	if r := verify(t, st, cut.ID(), pub); r.Status != session.StatusUnsealed || r.Records != 2 {
		t.Fatalf("got %v; want unsealed with 2 records", r)
	}
	rec.Close()
	st.Close()

	if err := storetest.Rewrite(path, s.ID(), 4, func(b []byte) []byte {
		b[len(b)-10] ^= 1 // a byte of the JSON payload
		return b
	}); err != nil {
		t.Fatal(err)
	}
	st2, err := store.Open(path, store.Options{ReadOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	defer st2.Close()
	r := verify(t, st2, s.ID(), pub)
	if r.Status != session.StatusBroken || r.Seq != 4 {
		t.Fatalf("got %v; want broken at seq 4", r)
	}
}

type failingStore struct{ fail bool }

func (f *failingStore) Commit(*store.Batch, bool) error {
	if f.fail {
		return errors.New("disk full")
	}
	return nil
}
func (f *failingStore) Sync() error { return nil }

// A failed commit fails the session closed: the command returns a StoreError
// and so does everything after it.
func TestRecorderFailsClosed(t *testing.T) {
	st := &failingStore{}
	_, key, _ := ed25519.GenerateKey(nil)
	rec := session.NewRecorder(st, session.Options{Key: key})
	defer rec.Close()
	s, err := rec.Start(session.Info{}, false)
	if err != nil {
		t.Fatal(err)
	}
	st.fail = true
	_, err = s.Command(&session.Command{Text: "select 1"})
	var se *session.StoreError
	if !errors.As(err, &se) {
		t.Fatalf("got %v; want a StoreError", err)
	}
	st.fail = false
	if _, err := s.Command(&session.Command{Text: "select 2"}); !errors.As(err, &se) {
		t.Fatalf("after a failed commit got %v; want the session failed closed", err)
	}
	// A new session works once the store does.
	s2, err := rec.Start(session.Info{}, false)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s2.Command(&session.Command{Text: "select 3"}); err != nil {
		t.Fatal(err)
	}
}

type slowStore struct {
	release chan struct{}
	commits chan int
}

func (s *slowStore) Commit(b *store.Batch, _ bool) error {
	n := 0
	for _, r := range b.Records {
		n += len(r.Data)
	}
	s.commits <- n
	<-s.release
	return nil
}
func (s *slowStore) Sync() error { return nil }

// A stalled store makes appends wait once MaxQueued bytes are queued, instead
// of growing memory without bound.
func TestRecorderBackpressure(t *testing.T) {
	st := &slowStore{release: make(chan struct{}), commits: make(chan int, 100)}
	_, key, _ := ed25519.GenerateKey(nil)
	rec := session.NewRecorder(st, session.Options{Key: key, MaxQueued: 4096})
	go func() { // release the session.start commit
		<-st.commits
		st.release <- struct{}{}
	}()
	s, err := rec.Start(session.Info{}, false)
	if err != nil {
		t.Fatal(err)
	}
	chunk := make([]byte, 1000)
	appended := make(chan int, 100)
	go func() {
		for i := range 50 {
			if _, err := s.Append(session.KindOutput, &session.Bytes{Data: chunk}, false); err != nil {
				t.Error(err)
				return
			}
			appended <- i
		}
		close(appended)
	}()
	// The first batch is stuck in Commit; appends stop once the queue is full.
	first := <-st.commits
	n := 0
	for stalled := false; !stalled; {
		select {
		case <-appended:
			n++
		case <-time.After(200 * time.Millisecond):
			stalled = true
		}
	}
	if n >= 49 {
		t.Fatalf("%d appends went through while the store was stalled; want them to wait", n)
	}
	t.Logf("first batch %d bytes; %d appends queued before waiting", first, n)
	go func() {
		for {
			select {
			case <-st.commits:
			case st.release <- struct{}{}:
			}
		}
	}()
	for range appended {
	}
	rec.Close()
}
