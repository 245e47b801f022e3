package admin_test

import (
	"context"
	"crypto/ed25519"
	"encoding/json"
	"errors"
	"net"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/hoophq/hoop/broker"
	"github.com/hoophq/hoop/config"
	"github.com/hoophq/hoop/internal/admin"
	"github.com/hoophq/hoop/session"
	"github.com/hoophq/hoop/store"
)

const adminToken = "s3cret-admin-token"

type env struct {
	st   *store.Bolt
	rec  *session.Recorder
	pub  ed25519.PublicKey
	auth *broker.Authenticator
	url  string
	c    *admin.Client
}

// newEnv serves the admin API on loopback over a real store and recorder.
func newEnv(t *testing.T) *env {
	t.Helper()
	st, err := store.Open(filepath.Join(t.TempDir(), "events.db"), store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	pub, key, _ := ed25519.GenerateKey(nil)
	rec := session.NewRecorder(st, session.Options{Key: key, BrokerID: "test"})
	auth := broker.NewAuthenticator(&config.Identity{Issuer: "hoop", MaxTokenTTL: config.Duration(24 * time.Hour)}, key)
	srv := admin.New(admin.Config{Tokens: []string{"", adminToken}, Store: st, Recorder: rec, Keys: []ed25519.PublicKey{pub}, Issuer: auth})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- srv.Serve(ln) }()
	t.Cleanup(func() {
		srv.Close()
		if err := <-done; err != nil {
			t.Errorf("Serve: %v", err)
		}
		rec.Close()
		st.Close()
	})
	u := "http://" + ln.Addr().String()
	return &env{st: st, rec: rec, pub: pub, auth: auth, url: u, c: &admin.Client{URL: u, Token: adminToken}}
}

func (e *env) start(t *testing.T, info session.Info) *session.Session {
	t.Helper()
	s, err := e.rec.Start(info, false)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func TestAuthRefused(t *testing.T) {
	e := newEnv(t)
	for _, tc := range []struct{ name, header string }{
		{"none", ""},
		{"empty bearer", "Bearer "},
		{"wrong token", "Bearer nope"},
		{"prefix of the token", "Bearer " + adminToken[:5]},
		{"basic", "Basic " + adminToken},
	} {
		req, _ := http.NewRequest("GET", e.url+"/v1/sessions", nil)
		if tc.header != "" {
			req.Header.Set("Authorization", tc.header)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		var body struct{ Error string }
		json.NewDecoder(resp.Body).Decode(&body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusUnauthorized || body.Error == "" || resp.Header.Get("Content-Type") != "application/json" {
			t.Errorf("%s: got %d %q; want 401 with a JSON error", tc.name, resp.StatusCode, body.Error)
		}
	}
	c := &admin.Client{URL: e.url, Token: "wrong"}
	_, err := c.Sessions(context.Background(), admin.Filter{})
	var ae *admin.Error
	if !errors.As(err, &ae) || ae.Status != http.StatusUnauthorized {
		t.Fatalf("client with a wrong token: got %v; want a 401 *admin.Error", err)
	}
}

func TestErrorsAreJSON(t *testing.T) {
	e := newEnv(t)
	for _, tc := range []struct {
		method, path string
		status       int
	}{
		{"GET", "/v1/sessions/nope", 404},
		{"GET", "/v1/sessions/nope/records", 404},
		{"GET", "/v1/nowhere", 404},
		{"DELETE", "/v1/sessions", 405},
		{"GET", "/v1/tokens", 405},
		{"GET", "/v1/sessions?limit=-1", 400},
		{"GET", "/v1/sessions?since=yesterday", 400},
	} {
		req, _ := http.NewRequest(tc.method, e.url+tc.path, nil)
		req.Header.Set("Authorization", "Bearer "+adminToken)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		var body struct{ Error string }
		derr := json.NewDecoder(resp.Body).Decode(&body)
		resp.Body.Close()
		if resp.StatusCode != tc.status || derr != nil || body.Error == "" {
			t.Errorf("%s %s: got %d %q (%v); want %d with a JSON error", tc.method, tc.path, resp.StatusCode, body.Error, derr, tc.status)
		}
	}
	if _, err := e.c.Session(context.Background(), "nope"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("client Session(nope): got %v; want store.ErrNotFound", err)
	}
}

func TestListSessions(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	old := e.start(t, session.Info{Connection: "pg", Protocol: "postgres", Principal: session.Principal{Subject: "bob"}, Started: time.Now().Add(-3 * time.Hour)})
	old.End(session.OutcomeOK, "")
	a := e.start(t, session.Info{Connection: "pg", Protocol: "postgres", Principal: session.Principal{Subject: "alice", Email: "alice@example.com"}})
	b := e.start(t, session.Info{Connection: "mysql", Protocol: "mysql", Principal: session.Principal{Subject: "carol"}, Actors: []session.Actor{{Subject: "deploy-bot"}}})
	b.End(session.OutcomeError, "upstream went away")

	ids := func(list []session.Info) string {
		var s []string
		for _, i := range list {
			s = append(s, i.ID)
		}
		return strings.Join(s, ",")
	}
	for _, tc := range []struct {
		name string
		f    admin.Filter
		want []string
	}{
		{"all, newest first", admin.Filter{}, []string{b.ID(), a.ID(), old.ID()}},
		{"limit", admin.Filter{Limit: 2}, []string{b.ID(), a.ID()}},
		{"connection", admin.Filter{Connection: "pg"}, []string{a.ID(), old.ID()}},
		{"user by email", admin.Filter{User: "alice@example.com"}, []string{a.ID()}},
		{"user by agent", admin.Filter{User: "deploy-bot"}, []string{b.ID()}},
		{"since", admin.Filter{Since: time.Now().Add(-time.Hour)}, []string{b.ID(), a.ID()}},
	} {
		got, err := e.c.Sessions(ctx, tc.f)
		if err != nil {
			t.Fatal(err)
		}
		if ids(got) != strings.Join(tc.want, ",") {
			t.Errorf("%s: got %s; want %s", tc.name, ids(got), strings.Join(tc.want, ","))
		}
	}
	info, err := e.c.Session(ctx, b.ID())
	if err != nil {
		t.Fatal(err)
	}
	if info.Outcome != session.OutcomeError || info.Reason != "upstream went away" || info.Actors[0].Subject != "deploy-bot" {
		t.Errorf("got %+v; want the ended session with its actor", info)
	}
}

// records reads a session's records through the client and verifies them.
func records(t *testing.T, e *env, ctx context.Context, id string, follow bool, each func(*session.Event)) session.Report {
	t.Helper()
	keys, err := e.c.Keys(ctx)
	if err != nil || len(keys) != 1 || !keys[0].Equal(e.pub) {
		t.Fatalf("keys: got %v, %v; want the recorder's key", keys, err)
	}
	chain := session.NewChain(id, keys...)
	err = e.c.Records(ctx, id, 0, follow, func(seq uint64, data []byte) error {
		ev, err := chain.Add(seq, data)
		if err != nil {
			return err
		}
		if each != nil {
			each(ev)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return chain.Report()
}

func TestRecords(t *testing.T) {
	e := newEnv(t)
	s := e.start(t, session.Info{Connection: "pg"})
	for range 600 { // more than one batch
		if _, err := s.Command(&session.Command{Type: "query", Text: "select 1"}); err != nil {
			t.Fatal(err)
		}
	}
	s.End(session.OutcomeOK, "")
	rep := records(t, e, context.Background(), s.ID(), false, nil)
	if rep.Status != session.StatusSealed || rep.Records != 602 {
		t.Fatalf("got %v; want sealed with 602 records", rep)
	}
	// after=N starts after N.
	var first uint64
	e.c.Records(context.Background(), s.ID(), 600, false, func(seq uint64, _ []byte) error {
		if first == 0 {
			first = seq
		}
		return nil
	})
	if first != 601 {
		t.Fatalf("after=600: first seq %d; want 601", first)
	}
}

// A follower gets a record committed after its request started, and the
// stream ends at session.end.
func TestFollow(t *testing.T) {
	e := newEnv(t)
	s := e.start(t, session.Info{Connection: "pg"})
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	got := make(chan *session.Event, 16)
	done := make(chan session.Report, 1)
	go func() {
		done <- records(t, e, ctx, s.ID(), true, func(ev *session.Event) { got <- ev })
	}()
	if ev := <-got; ev.Kind != session.KindStart {
		t.Fatalf("first event %s; want session.start", ev.Kind)
	}
	select {
	case ev := <-got:
		t.Fatalf("got %s before anything was recorded", ev.Kind)
	case <-time.After(100 * time.Millisecond):
	}
	if _, err := s.Command(&session.Command{Type: "query", Text: "select now()"}); err != nil {
		t.Fatal(err)
	}
	select {
	case ev := <-got:
		if ev.Kind != session.KindCommand || ev.Seq != 2 {
			t.Fatalf("got %s seq %d; want the command, seq 2", ev.Kind, ev.Seq)
		}
	case <-ctx.Done():
		t.Fatal("the follower did not get the command committed after it started")
	}
	s.Result(&session.Result{Command: 2, RowCount: 1, Tag: "SELECT 1"})
	s.End(session.OutcomeOK, "")
	select {
	case rep := <-done:
		if rep.Status != session.StatusSealed || rep.Records != 4 {
			t.Fatalf("got %v; want sealed with 4 records", rep)
		}
	case <-ctx.Done():
		t.Fatal("the follow stream did not end at session.end")
	}
}

// A session that ends without a seal (failed closed, or cut) ends the follow
// stream too, and so does the client going away.
func TestFollowEnds(t *testing.T) {
	e := newEnv(t)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	s := e.start(t, session.Info{Connection: "pg"})
	short, stop := context.WithCancel(ctx)
	errc := make(chan error, 1)
	go func() {
		errc <- e.c.Records(short, s.ID(), 0, true, func(uint64, []byte) error { return nil })
	}()
	time.Sleep(50 * time.Millisecond)
	stop()
	select {
	case err := <-errc:
		if !errors.Is(err, context.Canceled) {
			t.Fatalf("got %v; want context.Canceled", err)
		}
	case <-ctx.Done():
		t.Fatal("a canceled follower did not return")
	}

	// An index entry with an outcome but no session.end (what MarkCut leaves).
	cut := e.start(t, session.Info{Connection: "pg", BrokerID: "gone"})
	if _, err := session.MarkCut(e.st, "gone"); err != nil {
		t.Fatal(err)
	}
	rep := records(t, e, ctx, cut.ID(), true, nil)
	if rep.Status != session.StatusUnsealed || rep.Records != 1 {
		t.Fatalf("got %v; want unsealed with 1 record", rep)
	}
}

func TestIssueToken(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	resp, err := e.c.IssueToken(ctx, admin.TokenRequest{User: "alice", Groups: []string{"dba"}, TTL: "1h", Actors: []session.Actor{{Subject: "agent-1"}}})
	if err != nil {
		t.Fatal(err)
	}
	if d := time.Until(resp.ExpiresAt); d < 59*time.Minute || d > time.Hour {
		t.Errorf("expires_at %s; want in an hour", resp.ExpiresAt)
	}
	id, err := e.auth.Authenticate(ctx, resp.Token)
	if err != nil || id.Principal.Subject != "alice" || len(id.Actors) != 1 || id.Actors[0].Subject != "agent-1" {
		t.Fatalf("token authenticates as %+v, %v; want alice via agent-1", id, err)
	}
	for _, bad := range []admin.TokenRequest{{User: "", TTL: "1h"}, {User: "a", TTL: "soon"}, {User: "a", TTL: "48h"}} {
		if _, err := e.c.IssueToken(ctx, bad); err == nil {
			t.Errorf("%+v: got a token; want a 400", bad)
		}
	}
}
