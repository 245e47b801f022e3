package replay

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/hoophq/hoop/session"
)

// terminalSession is a short recorded ssh shell: start, pty size, output at
// +1s, a 10-minute idle gap, more output, a resize, the exit status, the end.
func terminalSession(t *testing.T) []*session.Event {
	t0 := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	seq := uint64(0)
	ev := func(d time.Duration, kind session.Kind, payload any) *session.Event {
		b, err := json.Marshal(payload)
		if err != nil {
			t.Fatal(err)
		}
		seq++
		return &session.Event{Session: "s1", Seq: seq, Time: t0.Add(d), Kind: kind, Payload: b}
	}
	return []*session.Event{
		ev(0, session.KindStart, session.Info{ID: "s1", Connection: "box", Protocol: "ssh", Principal: session.Principal{Subject: "alice"}, Started: t0}),
		ev(10*time.Millisecond, session.KindResize, session.Resize{Cols: 100, Rows: 30}),
		ev(20*time.Millisecond, session.KindCommand, session.Command{Type: "shell"}),
		ev(time.Second, session.KindOutput, session.Bytes{Data: []byte("$ "), Stream: "stdout"}),
		ev(2*time.Second, session.KindInput, session.Bytes{Data: []byte("echo hé\r")}),
		ev(2*time.Second+time.Millisecond, session.KindOutput, session.Bytes{Data: []byte("echo h\xc3"), Stream: "stdout"}),
		ev(2*time.Second+2*time.Millisecond, session.KindOutput, session.Bytes{Data: []byte("\xa9\r\nhé\r\n$ "), Stream: "stdout"}),
		ev(10*time.Minute, session.KindResize, session.Resize{Cols: 120, Rows: 40}),
		ev(10*time.Minute+time.Second, session.KindOutput, session.Bytes{Data: []byte("exit 3\r\n"), Stream: "stdout"}),
		ev(10*time.Minute+2*time.Second, session.KindResult, session.Result{Command: 3, Exit: &session.Exit{Status: 3}, BytesIn: 15, BytesOut: 26}),
		ev(10*time.Minute+2*time.Second, session.KindEnd, session.End{Outcome: session.OutcomeOK, Key: "k"}),
	}
}

func playAll(t *testing.T, r Renderer, events []*session.Event) {
	t.Helper()
	for _, ev := range events {
		if err := r.Event(ev); err != nil {
			t.Fatal(err)
		}
	}
	if err := r.Finish(nil, session.Report{Status: session.StatusSealed, Records: uint64(len(events))}); err != nil {
		t.Fatal(err)
	}
}

const screen = "$ echo hé\r\nhé\r\n$ exit 3\r\n"

func TestTerminalTiming(t *testing.T) {
	for _, tc := range []struct {
		name   string
		timing Timing
		want   []time.Duration
	}{
		{"original", Timing{}, []time.Duration{time.Second, 1001 * time.Millisecond, time.Millisecond, 10*time.Minute + time.Second - 2002*time.Millisecond}},
		{"speed 2, idle capped at 2s", Timing{Speed: 2, MaxIdle: 2 * time.Second}, []time.Duration{500 * time.Millisecond, 500500 * time.Microsecond, 500 * time.Microsecond, time.Second}},
		{"no timing", Timing{NoTiming: true, Speed: 2}, nil},
	} {
		var slept []time.Duration
		tc.timing.Sleep = func(d time.Duration) { slept = append(slept, d) }
		var term, info bytes.Buffer
		playAll(t, NewTerminal(&term, &info, tc.timing), terminalSession(t))
		if term.String() != screen {
			t.Errorf("%s: terminal %q; want %q", tc.name, term.String(), screen)
		}
		if len(slept) != len(tc.want) {
			t.Errorf("%s: slept %v; want %v", tc.name, slept, tc.want)
			continue
		}
		for i := range slept {
			if slept[i] != tc.want[i] {
				t.Errorf("%s: slept %v; want %v", tc.name, slept, tc.want)
				break
			}
		}
		for _, want := range []string{"Connection  box (ssh)", "alice> (shell)", "#3: exit status 3; 15 B in, 26 B out", "verification: sealed"} {
			if !strings.Contains(info.String(), want) {
				t.Errorf("%s: transcript lacks %q:\n%s", tc.name, want, info.String())
			}
		}
		if strings.Contains(info.String(), "echo") {
			t.Errorf("%s: terminal bytes in the transcript:\n%s", tc.name, info.String())
		}
	}
}

func TestAsciicast(t *testing.T) {
	var out bytes.Buffer
	playAll(t, NewAsciicast(&out, 2*time.Second), terminalSession(t))
	lines := strings.Split(strings.TrimSuffix(out.String(), "\n"), "\n")
	var h castHeader
	if err := json.Unmarshal([]byte(lines[0]), &h); err != nil {
		t.Fatal(err)
	}
	if h.Version != 2 || h.Width != 100 || h.Height != 30 || h.IdleTimeLimit != 2 || h.Timestamp == 0 {
		t.Errorf("header %+v", h)
	}
	var got strings.Builder
	kinds := ""
	last := 0.0
	for _, l := range lines[1:] {
		var e []any
		if err := json.Unmarshal([]byte(l), &e); err != nil || len(e) != 3 {
			t.Fatalf("event line %q: %v", l, err)
		}
		sec, kind, data := e[0].(float64), e[1].(string), e[2].(string)
		if sec < last {
			t.Errorf("time goes back at %q", l)
		}
		last = sec
		kinds += kind
		if kind == "o" {
			got.WriteString(data)
		} else if data != "120x40" {
			t.Errorf("resize %q", data)
		}
	}
	if got.String() != screen || kinds != "oooro" {
		t.Errorf("output %q kinds %q; want %q", got.String(), kinds, screen)
	}
	if !strings.Contains(out.String(), `[1.000000,"o","$ "]`) {
		t.Errorf("times are not the recorded offsets:\n%s", out.String())
	}
}
