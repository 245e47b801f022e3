package cli_test

import (
	"flag"
	"os"
	"path/filepath"
	"regexp"
	"testing"
	"time"

	"github.com/hoophq/hoop/internal/brokertest"
	"github.com/hoophq/hoop/session"
)

var update = flag.Bool("update", false, "rewrite the golden files under testdata/replay/")

// goldenDir holds the replay golden files, at the repository's testdata/.
var goldenDir = filepath.Join("..", "..", "testdata", "replay")

// normalisers replace what differs between runs: ids, times, durations,
// ports, keys.
var normalisers = []struct {
	re   *regexp.Regexp
	with string
}{
	{regexp.MustCompile(`[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}`), "<id>"},
	{regexp.MustCompile(`\[\d\d:\d\d:\d\d\.\d{3} \+[0-9hm.]+s\]`), "[hh:mm:ss.mmm +s.sss]"},
	{regexp.MustCompile(`\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d{3} UTC`), "yyyy-mm-dd hh:mm:ss.mmm UTC"},
	{regexp.MustCompile(`Time: \d+\.\d{3} ms`), "Time: t.ttt ms"},
	{regexp.MustCompile(`127\.0\.0\.1:\d+`), "127.0.0.1:port"},
	{regexp.MustCompile(`key [0-9a-f]{16}`), "key <keyid>"},
	{regexp.MustCompile(`PID \d+`), "PID <pid>"},
}

func normalise(s string) string {
	for _, n := range normalisers {
		s = n.re.ReplaceAllString(s, n.with)
	}
	return s
}

// golden compares got, normalised, with testdata/replay/name, or rewrites it
// with -update.
func golden(t *testing.T, name, got string) {
	t.Helper()
	got = normalise(got)
	path := filepath.Join(goldenDir, name)
	if *update {
		if err := os.MkdirAll(goldenDir, 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test -update to create it)", err)
	}
	if got != string(want) {
		t.Errorf("replay differs from %s (go test -update rewrites it)\n--- got\n%s\n--- want\n%s", path, got, want)
	}
}

// TestReplayGolden records a Postgres-like session through the recorder, with
// the payloads protocols/postgres records, and compares its text replay.
func TestReplayGolden(t *testing.T) {
	b := brokertest.Start(t, t.TempDir(), brokerYAML(fakeUpstream))
	info := session.Info{
		Principal:  session.Principal{Subject: "alice@example.com", Name: "alice", Issuer: "hoop", Groups: []string{"dba", "eng"}},
		Actors:     []session.Actor{{Subject: "deploy-bot"}, {Subject: "ci-runner"}},
		Parent:     "0190aaaa-bbbb-7ccc-8ddd-eeeeffff0000",
		ClientAddr: "127.0.0.1:50123",
		Started:    time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC),
		Meta:       map[string]string{"database": "app", "application_name": "psql"},
	}
	ms := func(f float64) time.Duration { return time.Duration(f * float64(time.Millisecond)) }
	record(t, b, info, func(s *session.Session) {
		query(t, s, "select id, email, note from users order by id;", session.Result{
			Columns: []session.Column{{Name: "id", Type: "int4"}, {Name: "email", Type: "text"}, {Name: "note", Type: "text"}},
			Rows: [][]session.Value{
				{str("1"), str("alice@example.com"), nil},
				{str("2"), str("bob@example.com"), str("two\nlines")},
				{str("10"), str("ünïcødé@example.com"), str("")},
			},
			RowCount: 3, Tag: "SELECT 3", Duration: ms(0.412),
		})
		query(t, s, "insert into users (email)\nvalues ('dave@example.com');", session.Result{Tag: "INSERT 0 1", Duration: ms(1.5)})
		query(t, s, "select * from missing;", session.Result{
			Error:    &session.Error{Severity: "ERROR", Code: "42P01", Message: `relation "missing" does not exist`, Position: 15},
			Duration: ms(0.2),
		})
		query(t, s, "select 1/0;", session.Result{
			Error: &session.Error{Severity: "ERROR", Code: "22012", Message: "division by zero", Detail: "some detail", Hint: "do not divide by zero"},
		})
		seq, _ := s.Command(&session.Command{Type: "execute", Text: "select id from users where id = $1 and email <> $2", Statement: "s1",
			Params: []session.Value{str("2"), nil}, ParamTypes: []string{"int4", "text"}})
		s.Result(&session.Result{Command: seq, Columns: []session.Column{{Name: "id", Type: "int4"}}, Rows: [][]session.Value{{str("2")}}, RowCount: 1, Tag: "SELECT 1", Duration: ms(0.3)})
		s.Append(session.KindPolicy, &session.Decision{Action: "deny", Rule: "builtin:identity",
			Message: "the identity attached by the broker cannot be changed from the session",
			Command: session.Command{Type: "query", Text: "set hoop.user = 'mallory';", TouchesIdentity: true}}, true)
		query(t, s, "do $$ begin raise notice 'hello %', 'world'; end $$;", session.Result{
			Notices: []session.Error{{Severity: "NOTICE", Code: "00000", Message: "hello world"}}, Tag: "DO", Duration: ms(0.9),
		})
		query(t, s, "listen jobs;", session.Result{Tag: "LISTEN"})
		s.Result(&session.Result{Notification: &session.Notification{PID: 4242, Channel: "jobs", Payload: "job 7 done"}})
		query(t, s, "copy users to stdout;", session.Result{Copy: &session.Copy{Direction: "out", Bytes: 81}, Tag: "COPY 3", Duration: ms(0.5)})
		query(t, s, "select g from generate_series(1, 5000) g;", session.Result{
			Columns:  []session.Column{{Name: "g", Type: "int4"}},
			Rows:     [][]session.Value{{str("1")}, {str("2")}, {str("3")}},
			RowCount: 5000, Truncated: true, Tag: "SELECT 5000", Duration: ms(4.2),
		})
		// Two statements in one query: one result each.
		seq, _ = s.Command(&session.Command{Type: "query", Text: "begin; select 1 as one;"})
		s.Result(&session.Result{Command: seq, Tag: "BEGIN"})
		s.Result(&session.Result{Command: seq, Columns: []session.Column{{Name: "one", Type: "int4"}}, Rows: [][]session.Value{{str("1")}}, RowCount: 1, Tag: "SELECT 1"})
		end(t, s, session.OutcomeOK, "")
	})
	out, errOut, code := b.Hoopctl("replay", "latest")
	if code != 0 {
		t.Fatalf("replay: exit %d: %s", code, errOut)
	}
	golden(t, "postgres-recorded.txt", out)
}
