package ssh_test

import (
	"strings"
	"testing"

	"github.com/hoophq/hoop/session"
)

// TestExec: `ssh host cmd` through the broker, with stdout, stderr and the
// exit code propagated, the identity in the upstream's environment, and the
// command, output and exit status recorded.
func TestExec(t *testing.T) {
	e := newEnv(t, connOpts{})
	tok := e.Token(t, "alice", "ops", "dev")
	stdout, stderr, code := e.ssh("box", auth{token: tok},
		`echo "user=$HOOP_USER groups=$HOOP_GROUPS session=$HOOP_SESSION"; echo oops >&2; exit 42`)
	if code != 42 {
		t.Fatalf("exit code %d; want 42\nstderr: %s", code, stderr)
	}
	info := e.last(1)
	want := "user=alice groups=ops,dev session=" + info.ID + "\n"
	if stdout != want {
		t.Errorf("stdout %q; want %q", stdout, want)
	}
	if !strings.Contains(stderr, "oops") {
		t.Errorf("stderr %q; want oops", stderr)
	}
	if info.Outcome != session.OutcomeOK || info.Principal.Subject != "alice" || info.Protocol != "ssh" {
		t.Errorf("session %+v", info)
	}
	cmds := e.recorded(info.ID).CommandsOf("")
	if len(cmds) != 1 || cmds[0].Type != "exec" || !strings.HasPrefix(cmds[0].Text, `echo "user=$HOOP_USER`) {
		t.Errorf("commands %+v; want the exec'd command line", cmds)
	}
	if got := e.recorded(info.ID).Output("stdout"); got != want {
		t.Errorf("recorded stdout %q; want %q", got, want)
	}
	if got := e.recorded(info.ID).Output("stderr"); got != "oops\n" {
		t.Errorf("recorded stderr %q", got)
	}
	res := e.recorded(info.ID).Results
	if len(res) != 1 || res[0].Exit == nil || res[0].Exit.Status != 42 || res[0].BytesOut != int64(len(want)+5) {
		t.Errorf("results %+v; want exit status 42 and the byte counts", res)
	}
	if strings.Contains(e.Logs(), tok) {
		t.Error("the broker logged the token")
	}
}

// TestStdin: input piped into a remote command reaches it, and EOF too.
func TestStdin(t *testing.T) {
	e := newEnv(t, connOpts{})
	cmd := e.command("ssh", auth{token: e.Token(t, "alice", "ops")}, "-p", e.port("box"), "u@127.0.0.1", "wc -c; echo done")
	cmd.Stdin = strings.NewReader(strings.Repeat("x", 100000))
	stdout, stderr, code := run(t, cmd)
	if code != 0 || strings.Fields(stdout)[0] != "100000" || !strings.Contains(stdout, "done") {
		t.Fatalf("code %d stdout %q stderr %q", code, stdout, stderr)
	}
	info := e.last(1)
	res := e.recorded(info.ID).Results
	if len(res) != 1 || res[0].BytesIn != 100000 {
		t.Errorf("results %+v; want 100000 bytes in", res)
	}
}
