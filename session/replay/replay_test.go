package replay

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/hoophq/hoop/session"
)

func str(s string) session.Value { return &s }

func TestWriteTable(t *testing.T) {
	var b bytes.Buffer
	writeTable(&b, []session.Column{{Name: "n", Type: "int8"}, {Name: "a long name", Type: "text"}, {Name: "x"}},
		[][]session.Value{{str("123"), str("a"), nil}, {str("4"), str("tab\there"), str("é")}, {nil}})
	want := `  n  | a long name | x
-----+-------------+---
 123 | a           |
   4 | tab\there   | é
     |             |
`
	if b.String() != want {
		t.Errorf("got\n%s\nwant\n%s", b.String(), want)
	}
}

func TestOffset(t *testing.T) {
	for _, tc := range []struct {
		d    time.Duration
		want string
	}{
		{0, "0.000s"},
		{-time.Second, "0.000s"},
		{1234 * time.Millisecond, "1.234s"},
		{62*time.Second + 500*time.Millisecond, "1m02.500s"},
		{time.Hour + 2*time.Minute + 3*time.Second, "1h02m03.000s"},
	} {
		if got := Offset(tc.d); got != tc.want {
			t.Errorf("Offset(%s) = %q; want %q", tc.d, got, tc.want)
		}
	}
}

// events builds a session's events with payloads, for the renderers.
func events(t *testing.T, protocol string, evs ...any) []*session.Event {
	t.Helper()
	start := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	info := session.Info{ID: "s1", Connection: "c", Protocol: protocol, Principal: session.Principal{Subject: "bob"}, Started: start}
	out := []*session.Event{}
	add := func(kind session.Kind, p any) {
		b, err := json.Marshal(p)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, &session.Event{Session: "s1", Seq: uint64(len(out) + 1), Time: start.Add(time.Duration(len(out)) * time.Second), Kind: kind, Payload: b})
	}
	add(session.KindStart, info)
	for i := 0; i < len(evs); i += 2 {
		add(evs[i].(session.Kind), evs[i+1])
	}
	return out
}

func render(t *testing.T, evs []*session.Event, rep session.Report) string {
	t.Helper()
	var b bytes.Buffer
	r := NewText(&b)
	for _, ev := range evs {
		if err := r.Event(ev); err != nil {
			t.Fatal(err)
		}
	}
	if err := r.Finish(nil, rep); err != nil {
		t.Fatal(err)
	}
	return b.String()
}

// Protocols without their own handlers get the generic rendering; unknown
// kinds are shown with their payload; a protocol can register its own.
func TestTextGenericAndRegistered(t *testing.T) {
	evs := events(t, "ssh",
		session.KindCommand, session.Command{Type: "exec", Text: "uptime"},
		session.KindOutput, session.Bytes{Data: []byte("up 3 days\n")},
		session.KindResult, session.Result{Command: 2, Tag: "exit 0"},
		session.Kind("future"), map[string]int{"x": 1},
		session.KindError, session.Error{Message: "upstream closed"},
	)
	got := render(t, evs, session.Report{Status: session.StatusUnsealed, Records: 6})
	for _, want := range []string{
		"Connection  c (ssh)\n",
		"[03:04:06.000 +1.000s] bob> uptime\nup 3 days\nexit 0\n",
		"[03:04:09.000 +4.000s] future {\"x\":1}\n",
		"[03:04:10.000 +5.000s] ERROR:  upstream closed\n",
		"-- session has not ended (live, or cut by a crash of the broker)\n-- verification: unsealed (6 records, chain intact, no seal)\n",
	} {
		if !strings.Contains(got, want) {
			t.Errorf("got\n%s\nwant it to contain\n%s", got, want)
		}
	}

	RegisterText("test-proto", session.KindCommand, func(t *Text, ev *session.Event) error {
		t.Printf("custom #%d\n", ev.Seq)
		return nil
	})
	got = render(t, events(t, "test-proto", session.KindCommand, session.Command{Text: "x"}), session.Report{Status: session.StatusBroken, Seq: 2, Problem: "altered", Records: 1})
	if !strings.Contains(got, "custom #2\n") || !strings.Contains(got, "BROKEN at seq 2: altered") {
		t.Errorf("got\n%s\nwant the registered handler and the broken footer", got)
	}
}

// A result that does not follow its command names it; an error's position
// puts a caret under the statement's line.
func TestSQLResultReference(t *testing.T) {
	evs := events(t, "postgres",
		session.KindCommand, session.Command{Type: "execute", Text: "select 1"},
		session.KindCommand, session.Command{Type: "execute", Text: "select x\n  from nowhere"},
		session.KindResult, session.Result{Command: 2, Tag: "SELECT 1"},
		session.KindResult, session.Result{Command: 3, Error: &session.Error{Code: "42P01", Message: `relation "nowhere" does not exist`, Position: 17}},
	)
	got := render(t, evs, session.Report{Status: session.StatusSealed, Records: 5})
	want := `-- result of #2: select 1
SELECT 1
-- result of #3: select x ...
ERROR:  42P01: relation "nowhere" does not exist
LINE 2:   from nowhere
               ^
`
	if !strings.Contains(got, want) {
		t.Errorf("got\n%s\nwant it to contain\n%s", got, want)
	}
}

func TestJSON(t *testing.T) {
	var b bytes.Buffer
	r := NewJSON(&b)
	for _, ev := range events(t, "postgres", session.KindCommand, session.Command{Type: "query", Text: "select '<&>'"}) {
		if err := r.Event(ev); err != nil {
			t.Fatal(err)
		}
	}
	r.Finish(nil, session.Report{})
	lines := strings.Split(strings.TrimSpace(b.String()), "\n")
	var ev struct {
		Kind    session.Kind
		Payload session.Command
	}
	if len(lines) != 2 || json.Unmarshal([]byte(lines[1]), &ev) != nil || ev.Kind != session.KindCommand || ev.Payload.Text != "select '<&>'" {
		t.Fatalf("got\n%s\nwant 2 lines, the command's payload as JSON", b.String())
	}
}
