package http_test

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/hoophq/hoop/broker"
	"github.com/hoophq/hoop/config"
	hoophttp "github.com/hoophq/hoop/protocols/http"
	"github.com/hoophq/hoop/session"
	"github.com/hoophq/hoop/store"
)

// failingStore fails the commits of command records on demand.
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

// TestFailClosed: a request whose command cannot be recorded is answered 503
// with a JSON error and never reaches the upstream; bad input gets a clear
// error, never a hang.
func TestFailClosed(t *testing.T) {
	var calls atomic.Int32
	up := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { calls.Add(1) }))
	defer up.Close()
	dir := t.TempDir()
	cfg, err := config.Parse(filepath.Join(dir, "hand.yaml"), []byte(`broker:
  data_dir: data
admin:
  tokens: ["${env:HOME}"]
connections:
  - name: svc
    protocol: http
    listen: 127.0.0.1:0
    tls:
      mode: "off"
    upstream:
      address: `+strings.TrimPrefix(up.URL, "http://")+`
      tls: disable
    access:
      groups: [dev]
`))
	if err != nil {
		t.Fatal(err)
	}
	key, _ := broker.LoadOrCreateKey(dir)
	bolt, err := store.Open(filepath.Join(dir, "events.db"), store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer bolt.Close()
	st := &failingStore{Bolt: bolt}
	rec := session.NewRecorder(st, session.Options{Key: key, BrokerID: "hand"})
	defer rec.Close()
	b := broker.New(cfg, key, rec, slog.New(slog.NewTextHandler(io.Discard, nil)))
	ep, err := b.Endpoint(cfg.Connection("svc"))
	if err != nil {
		t.Fatal(err)
	}
	ln, _ := net.Listen("tcp", "127.0.0.1:0")
	ctx, cancel := context.WithCancel(context.Background())
	served := make(chan error, 1)
	go func() { served <- hoophttp.Serve(ctx, ln, ep) }()
	defer func() {
		cancel()
		if err := <-served; err != nil {
			t.Errorf("Serve: %v", err)
		}
	}()
	tok, _ := b.Authenticator().Issue(broker.TokenRequest{User: "dana", Groups: []string{"dev"}, TTL: time.Hour})
	get := func(path string, hdr ...string) (int, map[string]any) {
		req, _ := http.NewRequest("GET", "http://"+ln.Addr().String()+path, nil)
		for i := 0; i+1 < len(hdr); i += 2 {
			req.Header.Set(hdr[i], hdr[i+1])
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var m map[string]any
		json.NewDecoder(resp.Body).Decode(&m)
		return resp.StatusCode, m
	}

	if code, m := get("/ok", "Authorization", "Bearer "+tok); code != 200 || calls.Load() != 1 {
		t.Fatalf("before the failure: %d %v", code, m)
	}
	st.failCommands.Store(true)
	code, m := get("/not-recorded", "Authorization", "Bearer "+tok)
	if code != http.StatusServiceUnavailable || !strings.Contains(m["message"].(string), "cannot record") {
		t.Fatalf("unrecordable request: %d %v; want 503 with a message", code, m)
	}
	if calls.Load() != 1 {
		t.Fatalf("the upstream saw %d requests; want 1 (the unrecorded one must not reach it)", calls.Load())
	}
	st.failCommands.Store(false)
	for _, c := range []struct {
		hdr  []string
		code int
	}{
		{nil, 401},
		{[]string{"Authorization", "Basic Zm9vOmJhcg=="}, 401},
		{[]string{"Authorization", "Bearer " + strings.Repeat("x", 5000)}, 401},
		{[]string{"Authorization", "Bearer a.b.c"}, 401},
	} {
		if code, m := get("/x", c.hdr...); code != c.code || m["message"] == "" {
			t.Errorf("%v: %d %v; want %d with a message", c.hdr, code, m, c.code)
		}
	}
}
