package http_test

import (
	"bufio"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/golang-jwt/jwt/v5"
	"github.com/gorilla/websocket"

	"github.com/hoophq/hoop/broker"
	"github.com/hoophq/hoop/internal/brokertest"
	"github.com/hoophq/hoop/session"
)

const upstreamSecret = "upstream-service-secret-7f3a"

// upstream is a small real HTTP service: it reports what it received, streams
// server-sent events one at a time, and echoes WebSocket messages.
type upstream struct {
	*httptest.Server
	mu    sync.Mutex
	seen  []http.Header
	next  chan struct{} // the SSE handler waits on it between events
	calls int
}

func newUpstream(t *testing.T) *upstream {
	u := &upstream{next: make(chan struct{})}
	mux := http.NewServeMux()
	mux.HandleFunc("/echo", func(w http.ResponseWriter, r *http.Request) {
		u.mu.Lock()
		u.seen = append(u.seen, r.Header.Clone())
		u.calls++
		u.mu.Unlock()
		w.Header().Set("Content-Type", "application/json")
		json.NewEncoder(w).Encode(map[string]string{"path": r.URL.Path, "query": r.URL.RawQuery})
	})
	mux.HandleFunc("/sse", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/event-stream")
		for i := 1; i <= 3; i++ {
			fmt.Fprintf(w, "data: event %d\n\n", i)
			w.(http.Flusher).Flush()
			if i < 3 {
				select {
				case <-u.next: // the test saw event i through the broker
				case <-r.Context().Done():
					return
				}
			}
		}
	})
	up := websocket.Upgrader{}
	mux.HandleFunc("/ws", func(w http.ResponseWriter, r *http.Request) {
		c, err := up.Upgrade(w, r, nil)
		if err != nil {
			return
		}
		defer c.Close()
		for {
			mt, msg, err := c.ReadMessage()
			if err != nil {
				return
			}
			if c.WriteMessage(mt, append([]byte("echo: "), msg...)) != nil {
				return
			}
		}
	})
	u.Server = httptest.NewServer(mux)
	t.Cleanup(u.Close)
	return u
}

func httpBroker(t *testing.T, up *upstream) *brokertest.Broker {
	dir := t.TempDir()
	brokertest.WriteFile(t, filepath.Join(dir, "svc.token"), upstreamSecret+"\n")
	return brokertest.Start(t, dir, brokertest.YAML(`  - name: svc
    protocol: http
    listen: 127.0.0.1:0
    upstream:
      address: `+strings.TrimPrefix(up.URL, "http://")+`
      tls: disable
    http:
      credential:
        type: bearer
        token: ${file:svc.token}
    access:
      groups: [dev]
`))
}

func curl(t *testing.T, args ...string) (string, int) {
	t.Helper()
	path, err := exec.LookPath("curl")
	if err != nil {
		t.Fatalf("curl: %v (run make setup)", err)
	}
	out, err := exec.Command(path, args...).Output()
	code := 0
	if ee, ok := err.(*exec.ExitError); ok {
		code = ee.ExitCode()
	} else if err != nil {
		t.Fatal(err)
	}
	return string(out), code
}

func TestCurlThroughBroker(t *testing.T) {
	up := newUpstream(t)
	b := httpBroker(t, up)
	base := "https://" + b.Addr("svc")
	tok := b.Token(t, "alice", "dev")
	pub := b.Recorder().PublicKey()

	// The upstream sees the injected credential, the user and a valid
	// assertion, never the user's token.
	out, _ := curl(t, "-sS", "--cacert", b.CA(), "-H", "Authorization: Bearer "+tok, base+"/echo?q=1")
	if !strings.Contains(out, `"query":"q=1"`) {
		t.Fatalf("curl got %q", out)
	}
	up.mu.Lock()
	h := up.seen[0]
	up.mu.Unlock()
	if got := h.Get("Authorization"); got != "Bearer "+upstreamSecret {
		t.Errorf("upstream Authorization = %q; want the connection's credential", got)
	}
	if got := h.Get("X-Hoop-User"); got != "alice" {
		t.Errorf("X-Hoop-User = %q; want alice", got)
	}
	var claims broker.AssertionClaims
	_, err := jwt.ParseWithClaims(h.Get("X-Hoop-Assertion"), &claims, func(*jwt.Token) (any, error) { return pub, nil },
		jwt.WithValidMethods([]string{"EdDSA"}), jwt.WithAudience(broker.AssertionAudience("svc")), jwt.WithExpirationRequired())
	if err != nil {
		t.Fatalf("assertion does not verify with the broker's public key: %v", err)
	}
	if claims.Subject != "alice" || claims.Session == "" || len(claims.Groups) != 1 {
		t.Errorf("assertion claims = %+v", claims)
	}
	for k, vs := range h {
		for _, v := range vs {
			if strings.Contains(v, tok) {
				t.Errorf("upstream received the user's token in %s", k)
			}
		}
	}

	// Identity headers set by the client are refused before the upstream.
	for _, hdr := range []string{"X-Hoop-User: mallory", "X-Hoop-Assertion: forged", "Impersonate-User: admin"} {
		out, _ = curl(t, "-sS", "-w", "\n%{http_code}", "--cacert", b.CA(), "-H", "Authorization: Bearer "+tok, "-H", hdr, base+"/echo")
		if !strings.HasSuffix(out, "\n403") || !strings.Contains(out, "cannot be changed") {
			t.Errorf("%s: got %q; want a 403 JSON refusal", hdr, out)
		}
	}
	// No token, a bad token, a user outside the access groups.
	for _, c := range []struct{ auth, code string }{{"", "401"}, {"Authorization: Bearer not-a-jwt", "401"}, {"Authorization: Bearer " + b.Token(t, "eve", "ops"), "403"}} {
		out, _ = curl(t, "-sS", "-w", "\n%{http_code}", "--cacert", b.CA(), "-H", c.auth, base+"/echo")
		if !strings.HasSuffix(out, "\n"+c.code) || !strings.Contains(out, `"message"`) {
			t.Errorf("%q: got %q; want %s with a JSON message", c.auth, out, c.code)
		}
	}
	up.mu.Lock()
	if up.calls != 1 {
		t.Errorf("upstream calls = %d; want 1 (refused requests never reach it)", up.calls)
	}
	up.mu.Unlock()

	// Server-sent events flow unbuffered: each event reaches curl before the
	// upstream sends the next.
	cmd := exec.Command("curl", "-sS", "-N", "--cacert", b.CA(), "-H", "Authorization: Bearer "+tok, base+"/sse")
	stdout, _ := cmd.StdoutPipe()
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	sc := bufio.NewScanner(stdout)
	for i := 1; i <= 3; i++ {
		want := fmt.Sprintf("data: event %d", i)
		for sc.Scan() && sc.Text() == "" {
		}
		if sc.Text() != want {
			t.Fatalf("SSE line = %q; want %q", sc.Text(), want)
		}
		if i < 3 {
			up.next <- struct{}{}
		}
	}
	if err := cmd.Wait(); err != nil {
		t.Fatalf("curl -N: %v", err)
	}

	// A WebSocket echo through the broker, message by message.
	d := websocket.Dialer{TLSClientConfig: &tls.Config{RootCAs: pool(t, b.CA())}}
	ws, resp, err := d.Dial("wss://"+b.Addr("svc")+"/ws", http.Header{"Authorization": {"Bearer " + tok}})
	if err != nil {
		t.Fatalf("websocket dial: %v (%v)", err, resp)
	}
	for _, m := range []string{"one", "two"} {
		if err := ws.WriteMessage(websocket.TextMessage, []byte(m)); err != nil {
			t.Fatal(err)
		}
		_, got, err := ws.ReadMessage()
		if err != nil || string(got) != "echo: "+m {
			t.Fatalf("websocket echo = %q, %v; want %q", got, err, "echo: "+m)
		}
	}
	ws.Close()

	// The recording: every request a command, every response a result, the
	// user's token never stored, refusals as policy events; all verify.
	all := b.EventsOf(t, 8, brokertest.OnConnection("svc"))
	var commands, results, policies int
	for id, evs := range all {
		for _, ev := range evs {
			if strings.Contains(string(ev.Payload), tok) || strings.Contains(string(ev.Payload), upstreamSecret) {
				t.Errorf("session %s seq %d holds a secret: %s", id, ev.Seq, ev.Payload)
			}
			switch ev.Kind {
			case session.KindCommand:
				commands++
				var c session.Command
				json.Unmarshal(ev.Payload, &c)
				if c.HTTP == nil || c.HTTP.Header["Authorization"][0] != "[redacted]" {
					t.Errorf("command %s: Authorization not redacted: %s", c.Text, ev.Payload)
				}
			case session.KindResult:
				results++
			case session.KindPolicy:
				policies++
			}
		}
	}
	if commands != 3 || results != 3 || policies != 3 {
		t.Errorf("recorded %d commands, %d results, %d refusals; want 3, 3, 3", commands, results, policies)
		for id, evs := range all {
			for _, ev := range evs {
				t.Logf("%s %d %s %s", id, ev.Seq, ev.Kind, ev.Payload)
			}
		}
	}
}

func pool(t *testing.T, file string) *x509.CertPool {
	b, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	p := x509.NewCertPool()
	p.AppendCertsFromPEM(b)
	return p
}
