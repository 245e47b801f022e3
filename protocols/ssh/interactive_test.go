package ssh_test

import (
	"encoding/json"
	"flag"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/hoophq/hoop/internal/brokertest"
	"github.com/hoophq/hoop/internal/testenv"
	"github.com/hoophq/hoop/session"
)

var update = flag.Bool("update", false, "rewrite golden files")

// TestInteractive: ssh -tt on a real terminal, typing commands, a resize
// that reaches the remote pty, and `exit 3` reaching the client. What the
// user saw is the golden file; the recording holds the same bytes.
func TestInteractive(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("the golden prompt needs the " + testenv.SSHUser + " account, created when running as root")
	}
	e := newEnv(t, connOpts{})
	term := e.shell(e.port("box"))
	term.typeLine("echo hello")
	term.expect("hello\r\n$ ")
	term.resize(120, 40)
	// The window-change is recorded once it has been forwarded: after that,
	// the next line reaches the remote shell behind it.
	e.waitEvent(func(ev *session.Event) bool {
		var r session.Resize
		return ev.Kind == session.KindResize && json.Unmarshal(ev.Payload, &r) == nil && r.Cols == 120 && r.Rows == 40
	})
	term.typeLine("stty size")
	term.expect("40 120\r\n$ ")
	term.typeLine("exit 3")
	if code := term.wait(); code != 3 {
		t.Fatalf("exit code %d; want 3; screen:\n%q", code, term.Screen())
	}
	saw := term.Screen()
	golden(t, "interactive.golden", saw)

	info := e.last(1)
	if got := e.recorded(info.ID).Output(""); got != saw {
		t.Errorf("recorded output %q; want what the user saw %q", got, saw)
	}
	var sizes []session.Resize
	var input strings.Builder
	for _, ev := range e.Events(t, info.ID) {
		switch ev.Kind {
		case session.KindResize:
			var r session.Resize
			json.Unmarshal(ev.Payload, &r)
			sizes = append(sizes, r)
		case session.KindInput:
			var b session.Bytes
			json.Unmarshal(ev.Payload, &b)
			input.Write(b.Data)
		}
	}
	if len(sizes) != 2 || sizes[0] != (session.Resize{Cols: 80, Rows: 24}) || sizes[1] != (session.Resize{Cols: 120, Rows: 40}) {
		t.Errorf("resizes %+v; want 80x24 then 120x40", sizes)
	}
	if got, want := input.String(), "echo hello\rstty size\rexit 3\r"; got != want {
		t.Errorf("recorded input %q; want %q", got, want)
	}
	res := e.recorded(info.ID).Results
	if len(res) != 1 || res[0].Exit == nil || res[0].Exit.Status != 3 {
		t.Errorf("results %+v; want exit status 3", res)
	}

	// hoopctl replay --no-timing shows what the user saw; the transcript
	// (stderr) tells how it ended and that it verified.
	stdout, stderr, code := e.Hoopctl("replay", info.ID, "--no-timing")
	if code != 0 {
		t.Fatalf("replay: exit %d: %s", code, stderr)
	}
	golden(t, "interactive.golden", stdout)
	for _, want := range []string{"alice> (shell)", "exit status 3", "verification: sealed"} {
		if !strings.Contains(stderr, want) {
			t.Errorf("replay transcript lacks %q:\n%s", want, stderr)
		}
	}
	if stdout, stderr, code := e.Hoopctl("verify", info.ID); code != 0 || !strings.Contains(stdout, "sealed") {
		t.Errorf("verify: exit %d: %s%s", code, stdout, stderr)
	}

	// --format asciicast is a cast that asciinema plays back.
	cast, stderr, code := e.Hoopctl("replay", info.ID, "--format", "asciicast", "--max-idle", "2s")
	if code != 0 {
		t.Fatalf("replay --format asciicast: exit %d: %s", code, stderr)
	}
	castFile := filepath.Join(e.Dir, "session.cast")
	brokertest.WriteFile(t, castFile, cast)
	if _, err := exec.LookPath("asciinema"); err != nil {
		t.Fatalf("asciinema: %v (make setup installs it)", err)
	}
	// asciinema cat needs a terminal.
	player := startTerminal(t, exec.Command("asciinema", "cat", castFile), 120, 40)
	if code := player.wait(); code != 0 {
		t.Fatalf("asciinema cat: exit %d: %q", code, player.Screen())
	}
	if got := player.Screen(); got != saw {
		t.Errorf("asciinema cat printed %q; want %q", got, saw)
	}
}

// waitEvent waits until some session has an event that matches.
func (e *env) waitEvent(match func(*session.Event) bool) {
	e.t.Helper()
	deadline := time.After(hangGuard)
	for {
		committed := e.Recorder().Committed()
		for _, s := range e.Sessions(e.t, nil) {
			for _, ev := range e.Events(e.t, s.ID) {
				if match(ev) {
					return
				}
			}
		}
		select {
		case <-committed:
		case <-deadline:
			e.t.Fatal("the event never came")
		}
	}
}

// golden compares got with testdata/name, or rewrites it with -update.
func golden(t *testing.T, name, got string) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run with -update to create it)", err)
	}
	if got != string(want) {
		t.Errorf("%s:\ngot  %q\nwant %q", name, got, want)
	}
}
