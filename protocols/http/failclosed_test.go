package http_test

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/hoophq/hoop/internal/brokertest"
	hoophttp "github.com/hoophq/hoop/protocols/http"
)

// TestFailClosed: a request whose command cannot be recorded is answered 503
// with a JSON error and never reaches the upstream; bad input gets a clear
// error, never a hang.
func TestFailClosed(t *testing.T) {
	var calls atomic.Int32
	up := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { calls.Add(1) }))
	defer up.Close()
	cfg, err := brokertest.WriteConfig(t.TempDir(), brokertest.YAML(`  - name: svc
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
	hb := brokertest.StartHand(t, cfg, "svc", hoophttp.Serve)
	tok := hb.Token(t, "dana", "dev")
	get := func(path string, hdr ...string) (int, map[string]any) {
		req, _ := http.NewRequest("GET", "http://"+hb.Addr+path, nil)
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
	hb.Store.FailCommands.Store(true)
	code, m := get("/not-recorded", "Authorization", "Bearer "+tok)
	if code != http.StatusServiceUnavailable || !strings.Contains(m["message"].(string), "cannot record") {
		t.Fatalf("unrecordable request: %d %v; want 503 with a message", code, m)
	}
	if calls.Load() != 1 {
		t.Fatalf("the upstream saw %d requests; want 1 (the unrecorded one must not reach it)", calls.Load())
	}
	hb.Store.FailCommands.Store(false)
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
