package cli_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/hoophq/hoop/internal/brokertest"
	"github.com/hoophq/hoop/internal/cli"
	"github.com/hoophq/hoop/session"
	"github.com/hoophq/hoop/store/storetest"
)

// brokerYAML is a broker with one Postgres connection; extra is appended to
// the connection (e.g. upstream settings of a real server).
func brokerYAML(upstream string) string {
	return brokertest.YAML(`  - name: pg
    protocol: postgres
    listen: 127.0.0.1:0
    upstream:
` + upstream + `
    access:
      groups: [dba]
`)
}

const fakeUpstream = `      address: 127.0.0.1:1
      user: app
      database: app`

func run(args ...string) (stdout, stderr string, code int) {
	var out, errb bytes.Buffer
	code = cli.Run(args, &out, &errb)
	return out.String(), errb.String(), code
}

func str(s string) session.Value { return &s }

// record records a session straight through the broker's recorder.
func record(t *testing.T, b *brokertest.Broker, info session.Info, fn func(s *session.Session)) string {
	t.Helper()
	if info.Connection == "" {
		info.Connection, info.Protocol = "pg", "postgres"
	}
	s, err := b.Recorder().Start(info, false)
	if err != nil {
		t.Fatal(err)
	}
	if fn != nil {
		fn(s)
	}
	return s.ID()
}

func query(t *testing.T, s *session.Session, text string, res session.Result) {
	t.Helper()
	seq, err := s.Command(&session.Command{Type: "query", Text: text})
	if err != nil {
		t.Fatal(err)
	}
	res.Command = seq
	if err := s.Result(&res); err != nil {
		t.Fatal(err)
	}
}

func end(t *testing.T, s *session.Session, o session.Outcome, reason string) {
	t.Helper()
	if err := s.End(o, reason); err != nil {
		t.Fatal(err)
	}
}

func TestSessions(t *testing.T) {
	b := brokertest.Start(t, t.TempDir(), brokerYAML(fakeUpstream))
	alice := record(t, b, session.Info{Principal: session.Principal{Subject: "alice", Groups: []string{"dba"}}, ClientAddr: "127.0.0.1:5000"}, func(s *session.Session) {
		query(t, s, "select 1", session.Result{Tag: "SELECT 1", RowCount: 1})
		end(t, s, session.OutcomeOK, "")
	})
	bot := record(t, b, session.Info{Principal: session.Principal{Subject: "bob"}, Actors: []session.Actor{{Subject: "deploy-bot"}, {Subject: "ci"}}}, nil)
	denied := record(t, b, session.Info{Principal: session.Principal{Subject: "mallory"}}, func(s *session.Session) {
		end(t, s, session.OutcomeDenied, "user \"mallory\" is not in a group allowed to use connection \"pg\"")
	})

	out, errOut, code := b.Hoopctl("sessions")
	if code != 0 {
		t.Fatalf("sessions: exit %d: %s", code, errOut)
	}
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if len(lines) != 4 || !strings.HasPrefix(lines[0], "ID ") || !strings.Contains(lines[0], "OUTCOME") {
		t.Fatalf("got\n%s\nwant a header and 3 sessions", out)
	}
	for i, want := range []struct{ id, text string }{
		{denied, "denied: user \"mallory\""},
		{bot, "bob via deploy-bot ← ci"},
		{alice, "127.0.0.1:5000"},
	} {
		if l := lines[i+1]; !strings.HasPrefix(l, want.id) || !strings.Contains(l, want.text) {
			t.Errorf("line %d = %q; want %s with %q", i+1, l, want.id, want.text)
		}
	}
	if !strings.Contains(lines[2], "live") || !strings.Contains(lines[3], " ok") {
		t.Errorf("outcomes: got\n%s\nwant live and ok", out)
	}
	// Columns are aligned: OUTCOME starts at the same offset on every line.
	col := strings.Index(lines[0], "OUTCOME")
	for _, l := range lines[1:] {
		if len(l) < col || l[col-2:col] != "  " {
			t.Errorf("line %q is not aligned with the OUTCOME column at %d", l, col)
		}
	}

	out, _, code = b.Hoopctl("sessions", "--user", "deploy-bot", "--json")
	var infos []session.Info
	if code != 0 || json.Unmarshal([]byte(out), &infos) != nil || len(infos) != 1 || infos[0].ID != bot {
		t.Fatalf("sessions --user deploy-bot --json: exit %d\n%s\nwant bob's session", code, out)
	}
	out, _, _ = b.Hoopctl("sessions", "--since", "1h", "--connection", "nope")
	if strings.Count(out, "\n") != 1 {
		t.Errorf("sessions --connection nope: got\n%s\nwant the header only", out)
	}

	// --config takes the admin address and token from the broker's config; it
	// listens on port 0, so point --server at the port chosen.
	out, errOut, code = run("--config", b.File, "--server", b.AdminURL(), "sessions", "--limit", "1")
	if code != 0 || !strings.Contains(out, denied) || strings.Contains(out, alice) {
		t.Fatalf("--config: exit %d: %s%s", code, out, errOut)
	}
}

func TestAuthAndUsageErrors(t *testing.T) {
	b := brokertest.Start(t, t.TempDir(), brokerYAML(fakeUpstream))
	_, errOut, code := run("--server", b.AdminURL(), "--admin-token", "wrong", "sessions")
	if code != 1 || !strings.HasPrefix(errOut, "hoopctl: ") || !strings.Contains(errOut, "401") {
		t.Errorf("wrong token: exit %d %q; want exit 1 and a 401", code, errOut)
	}
	t.Setenv("HOOP_ADMIN_TOKEN", "")
	_, errOut, code = run("--server", b.AdminURL(), "sessions")
	if code != 1 || !strings.Contains(errOut, "no admin token") {
		t.Errorf("no token: exit %d %q; want exit 1 naming the missing token", code, errOut)
	}
	_, errOut, code = run("--server", "http://127.0.0.1:1", "--admin-token", "x", "sessions")
	if code != 1 || !strings.Contains(errOut, "cannot reach the admin API") {
		t.Errorf("nothing listening: exit %d %q", code, errOut)
	}
	for _, args := range [][]string{
		{"nope"},
		{"sessions", "--bogus"},
		{"replay"},
		{"verify"},
		{"verify", "x", "--all"},
		{"replay", "x", "--format", "yaml"},
		{"token", "issue"},
		{"serve"},
	} {
		if _, errOut, code := b.Hoopctl(args...); code != 2 || !strings.HasPrefix(errOut, "hoopctl: ") {
			t.Errorf("%q: exit %d %q; want a usage error, exit 2", args, code, errOut)
		}
	}
	_, errOut, code = b.Hoopctl("replay", "01234567-nope")
	if code != 1 || !strings.Contains(errOut, "not found") {
		t.Errorf("unknown session: exit %d %q", code, errOut)
	}
}

func TestReplayJSON(t *testing.T) {
	b := brokertest.Start(t, t.TempDir(), brokerYAML(fakeUpstream))
	id := record(t, b, session.Info{Principal: session.Principal{Subject: "alice"}}, func(s *session.Session) {
		query(t, s, "select 1 as x", session.Result{Columns: []session.Column{{Name: "x", Type: "int4"}}, Rows: [][]session.Value{{str("1")}}, RowCount: 1, Tag: "SELECT 1"})
		end(t, s, session.OutcomeOK, "")
	})
	out, errOut, code := b.Hoopctl("replay", "latest", "--format", "json")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	evs := checkJSONLines(t, out, id)
	lines := strings.Split(strings.TrimSpace(out), "\n")
	kinds := []session.Kind{session.KindStart, session.KindCommand, session.KindResult, session.KindEnd}
	if len(evs) != len(kinds) {
		t.Fatalf("got %d lines; want %d\n%s", len(lines), len(kinds), out)
	}
	for i, ev := range evs {
		if ev.Kind != kinds[i] {
			t.Errorf("line %d is %s; want %s", i, ev.Kind, kinds[i])
		}
	}
	var res struct{ Payload session.Result }
	json.Unmarshal([]byte(lines[2]), &res)
	if len(res.Payload.Rows) != 1 || *res.Payload.Rows[0][0] != "1" {
		t.Errorf("result payload %+v; want the row", res.Payload)
	}
}

// --follow tails a live session until it ends.
func TestReplayFollow(t *testing.T) {
	b := brokertest.Start(t, t.TempDir(), brokerYAML(fakeUpstream))
	rs, err := b.Recorder().Start(session.Info{Connection: "pg", Protocol: "postgres", Principal: session.Principal{Subject: "alice"}}, false)
	if err != nil {
		t.Fatal(err)
	}
	pr, pw := io.Pipe()
	done := make(chan int, 1)
	var errb bytes.Buffer
	go func() {
		done <- cli.Run([]string{"--server", b.AdminURL(), "--admin-token", brokertest.AdminToken, "replay", rs.ID(), "--follow"}, pw, &errb)
		pw.Close()
	}()
	var got bytes.Buffer
	lines := make(chan string, 64)
	go func() {
		buf := make([]byte, 4096)
		for {
			n, err := pr.Read(buf)
			got.Write(buf[:n])
			for _, l := range strings.SplitAfter(string(buf[:n]), "\n") {
				lines <- l
			}
			if err != nil {
				close(lines)
				return
			}
		}
	}()
	waitFor := func(want string) {
		t.Helper()
		deadline := time.After(10 * time.Second)
		for {
			select {
			case l, ok := <-lines:
				if !ok {
					t.Fatalf("output ended before %q", want)
				}
				if strings.Contains(l, want) {
					return
				}
			case <-deadline:
				t.Fatalf("no %q in the followed output", want)
			}
		}
	}
	waitFor("Session")
	query(t, rs, "select 'later'", session.Result{Tag: "SELECT 0"})
	waitFor("select 'later'")
	end(t, rs, session.OutcomeOK, "")
	select {
	case code := <-done:
		if code != 0 {
			t.Fatalf("exit %d: %s", code, errb.String())
		}
	case <-time.After(10 * time.Second):
		t.Fatal("replay --follow did not stop at session.end")
	}
	for range lines {
	}
	if !strings.Contains(got.String(), "verification: sealed") {
		t.Errorf("got\n%s\nwant the sealed footer", got.String())
	}
}

// A stopped broker's store is read directly; a running broker's lock is
// reported with a pointer to the admin API; verify names an altered record.
func TestStoreAndVerify(t *testing.T) {
	b := brokertest.Start(t, t.TempDir(), brokerYAML(fakeUpstream))
	var ids []string
	for i := range 3 {
		ids = append(ids, record(t, b, session.Info{Principal: session.Principal{Subject: fmt.Sprint("user", i)}}, func(s *session.Session) {
			for j := range 4 {
				query(t, s, fmt.Sprintf("select %d", j), session.Result{Tag: "SELECT 1", RowCount: 1})
			}
			end(t, s, session.OutcomeOK, "")
		}))
	}
	live := record(t, b, session.Info{Principal: session.Principal{Subject: "cut"}}, func(s *session.Session) {
		query(t, s, "select 'unfinished'", session.Result{Tag: "SELECT 1"})
	})
	data := filepath.Join(b.Dir, "data")

	_, errOut, code := run("--store", data, "sessions")
	if code != 1 || !strings.Contains(errOut, "running broker") || !strings.Contains(errOut, "admin API") {
		t.Fatalf("--store of a running broker: exit %d %q; want a pointer to the admin API", code, errOut)
	}
	out, errOut, code := b.Hoopctl("verify", "--all")
	if code != 0 || strings.Count(out, "sealed (10 records)") != 3 || !strings.Contains(out, live+"  unsealed") {
		t.Fatalf("verify --all (live): exit %d\n%s%s", code, out, errOut)
	}
	if _, _, code := b.Hoopctl("verify", "--all", "--strict"); code != 1 {
		t.Errorf("verify --all --strict with an unsealed session: exit %d; want 1", code)
	}
	time.Sleep(50 * time.Millisecond) // let the live session's result commit
	b.Stop(t)

	out, errOut, code = run("--store", data, "sessions")
	if code != 0 || !strings.Contains(out, ids[0]) || !strings.Contains(out, "unended") {
		t.Fatalf("--store sessions: exit %d\n%s%s", code, out, errOut)
	}
	out, errOut, code = run("--store", filepath.Join(data, "events.db"), "replay", ids[1])
	if code != 0 || !strings.Contains(out, "user1=> select 3") || !strings.Contains(out, "verification: sealed (10 records") {
		t.Fatalf("--store replay: exit %d\n%s%s", code, out, errOut)
	}
	out, errOut, code = run("--store", data, "verify", ids[2])
	if code != 0 || strings.TrimSpace(out) != ids[2]+"  sealed (10 records)" {
		t.Fatalf("verify clean session: exit %d %q %q", code, out, errOut)
	}
	if _, errOut, code := run("--store", data, "replay", live, "--follow"); code != 1 || !strings.Contains(errOut, "--follow needs a running broker") {
		t.Errorf("--store --follow: exit %d %q", code, errOut)
	}

	// Alter one byte of record 6's payload.
	if err := storetest.Rewrite(filepath.Join(data, "events.db"), ids[2], 6, func(b []byte) []byte {
		b[len(b)-10] ^= 1
		return b
	}); err != nil {
		t.Fatal(err)
	}
	out, errOut, code = run("--store", data, "verify", ids[2])
	if code != 1 || !strings.Contains(out, "BROKEN at seq 6") || !strings.Contains(errOut, "1 of 1 sessions broken") {
		t.Fatalf("verify altered session: exit %d %q %q; want exit 1 naming seq 6", code, out, errOut)
	}
	out, errOut, code = run("--store", data, "verify", "--all")
	if code != 1 || strings.Count(out, "sealed (10 records)") != 2 || !strings.Contains(out, ids[2]+"  BROKEN at seq 6") {
		t.Fatalf("verify --all: exit %d\n%s%s", code, out, errOut)
	}
	out, errOut, code = run("--store", data, "replay", ids[2])
	if code != 1 || !strings.Contains(out, "verification: BROKEN at seq 6") || strings.Contains(out, "select 3") || !strings.Contains(errOut, "BROKEN at seq 6") {
		t.Fatalf("replay altered session: exit %d\n%s%s", code, out, errOut)
	}

	// After a restart the cut session is marked killed and still verifies
	// unsealed.
	b.Restart(t)
	out, _, _ = b.Hoopctl("sessions")
	if !strings.Contains(out, "killed (cut)") {
		t.Errorf("sessions after restart: got\n%s\nwant the cut session killed", out)
	}
	out, _, code = b.Hoopctl("replay", live)
	if code != 0 || !strings.Contains(out, "without session.end: killed") || !strings.Contains(out, "verification: unsealed (3 records") {
		t.Errorf("replay cut session: exit %d\n%s", code, out)
	}
}

func TestTokenIssue(t *testing.T) {
	b := brokertest.Start(t, t.TempDir(), brokerYAML(fakeUpstream))
	out, errOut, code := b.Hoopctl("token", "issue", "--user", "alice", "--groups", "dba,eng", "--ttl", "30m", "--actor", "agent-1", "--actor", "agent-0")
	if code != 0 || strings.Count(out, "\n") != 1 || strings.Count(out, ".") != 2 {
		t.Fatalf("token issue: exit %d %q %q; want only the token", code, out, errOut)
	}
	id, err := b.Broker.Authenticator().Authenticate(context.Background(), strings.TrimSpace(out))
	if err != nil || id.Principal.Subject != "alice" || strings.Join(id.Principal.Groups, ",") != "dba,eng" ||
		len(id.Actors) != 2 || id.Actors[0].Subject != "agent-1" || time.Until(id.Expiry) > 30*time.Minute {
		t.Fatalf("token identity %+v, %v", id, err)
	}
	if _, errOut, code := b.Hoopctl("token", "issue", "--user", "alice", "--ttl", "100h"); code != 1 || !strings.Contains(errOut, "max_token_ttl") {
		t.Errorf("ttl over the cap: exit %d %q", code, errOut)
	}
	// Offline, with the data dir's key: the running broker accepts it.
	out, errOut, code = run("--config", b.File, "token", "issue", "--offline", "--user", "bob", "--groups", "dba")
	if code != 0 {
		t.Fatalf("offline: exit %d %q", code, errOut)
	}
	if id, err := b.Broker.Authenticator().Authenticate(context.Background(), strings.TrimSpace(out)); err != nil || id.Principal.Subject != "bob" {
		t.Fatalf("offline token: %+v, %v", id, err)
	}
	if _, errOut, code := run("token", "issue", "--offline", "--user", "bob"); code != 2 || !strings.Contains(errOut, "--config") {
		t.Errorf("offline without --config: exit %d %q", code, errOut)
	}
}

func TestConfigCheck(t *testing.T) {
	t.Setenv("HOOP_ADMIN_TOKEN", "x")
	t.Setenv("PG_PASSWORD", "y")
	valid := filepath.Join("..", "..", "testdata", "config", "valid.yaml")
	out, errOut, code := run("config", "check", valid)
	if code != 0 || out != valid+": ok (1 connections)\n" {
		t.Errorf("valid: exit %d %q %q", code, out, errOut)
	}
	bad := filepath.Join("..", "..", "testdata", "config", "bad.yaml")
	out, errOut, code = run("config", "check", bad)
	lines := strings.Split(strings.TrimSpace(errOut), "\n")
	if code != 1 || out != "" || len(lines) < 4 {
		t.Fatalf("bad: exit %d %q\n%s", code, out, errOut)
	}
	for _, l := range lines {
		if !strings.HasPrefix(l, bad+":") || strings.Count(l, ": ") < 2 {
			t.Errorf("error line %q; want file:line: field: message", l)
		}
	}
	if _, errOut, code := run("config", "check", "/nonexistent.yaml"); code != 1 || !strings.HasPrefix(errOut, "hoopctl: ") {
		t.Errorf("missing file: exit %d %q", code, errOut)
	}
	// serve refuses a bad file with the same errors, before starting anything.
	_, errOut, code = run("serve", "--config", bad)
	if code != 1 || strings.Count(errOut, "hoopctl: "+bad+":") != len(lines) {
		t.Errorf("serve --config bad: exit %d\n%s\nwant every error prefixed with hoopctl:", code, errOut)
	}
}

// checkJSONLines checks that out is one valid session.Event per line, of
// session id, seq dense from 1, with a JSON object payload, ending with
// session.end.
func checkJSONLines(t *testing.T, out, id string) []session.Event {
	t.Helper()
	var evs []session.Event
	for i, l := range strings.Split(strings.TrimSuffix(out, "\n"), "\n") {
		var ev session.Event
		if err := json.Unmarshal([]byte(l), &ev); err != nil {
			t.Fatalf("line %d %q: %v", i+1, l, err)
		}
		if ev.Session != id || ev.Seq != uint64(i+1) || !json.Valid(ev.Payload) || ev.Payload[0] != '{' || ev.Time.IsZero() {
			t.Errorf("line %d = %s; want an event of %s, seq %d, with an object payload", i+1, l, id, i+1)
		}
		evs = append(evs, ev)
	}
	if len(evs) == 0 || evs[len(evs)-1].Kind != session.KindEnd {
		t.Errorf("the JSON replay does not end with session.end:\n%s", out)
	}
	return evs
}
