package kube_test

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"net"
	"os/exec"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/creack/pty"

	"github.com/hoophq/hoop/internal/brokertest"
	"github.com/hoophq/hoop/internal/testenv"
	"github.com/hoophq/hoop/session"
)

// Transports kubectl can use for exec/attach and for port-forward: WebSocket
// (the default since 1.31) and SPDY (the environment switches it off).
var transports = []struct {
	name string
	env  []string
}{
	{"websocket", nil},
	{"spdy", []string{"KUBECTL_REMOTE_COMMAND_WEBSOCKETS=false", "KUBECTL_PORT_FORWARD_WEBSOCKETS=false"}},
}

// TestExec types a command into kubectl exec -it through the broker, over
// both transports, and checks the exit code and the recorded terminal.
func TestExec(t *testing.T) {
	k := kubeCluster(t)
	b := kubeBroker(t, k)
	pod := "exec-" + fmt.Sprint(time.Now().UnixNano()%100000)
	if err := k.CreatePod("default", pod); err != nil {
		t.Fatal(err)
	}
	alice := newUser(t, b, k, "alice", testenv.KubeAdmins)
	for _, tr := range transports {
		t.Run(tr.name, func(t *testing.T) {
			u := alice.with(tr.env...)
			cmd := u.cmd("exec", "-it", pod, "--", "/bin/sh")
			term := startPTY(t, cmd)
			term.waitFor("$ ")
			term.type_("echo typed-$((6*7))\r")
			term.waitFor("typed-42")
			term.type_("exit 3\r")
			err := cmd.Wait()
			ee, ok := err.(*exec.ExitError)
			if !ok || ee.ExitCode() != 3 {
				t.Fatalf("kubectl exec exit = %v; want exit status 3\n%s", err, term.text())
			}
		})
	}
	// Each exec is one session: the pod lookup, the exec command, the
	// terminal (input, output, resize) and the exit status.
	all := b.EventsOf(t, len(transports), brokertest.OnConnection("k8s"))
	if len(all) != len(transports) {
		t.Fatalf("%d sessions; want %d", len(all), len(transports))
	}
	for id, evs := range all {
		var input, output bytes.Buffer
		var resized, exit3 bool
		var execCmd string
		for _, ev := range evs {
			switch ev.Kind {
			case session.KindCommand:
				c := brokertest.Payload[session.Command](t, ev)
				if c.HTTP.Kube.Subresource == "exec" {
					execCmd = c.Text
				}
			case session.KindInput:
				input.Write(brokertest.Payload[session.Bytes](t, ev).Data)
			case session.KindOutput:
				output.Write(brokertest.Payload[session.Bytes](t, ev).Data)
			case session.KindResize:
				resized = true
			case session.KindResult:
				r := brokertest.Payload[session.Result](t, ev)
				if r.Error != nil && r.Error.Code == "3" {
					exit3 = true
				}
			}
		}
		if execCmd != "create pods/exec "+pod+" -n default -- /bin/sh" {
			t.Errorf("session %s: exec command %q", id, execCmd)
		}
		if !strings.Contains(input.String(), "echo typed-$((6*7))\r") || !strings.Contains(output.String(), "typed-42") || !resized || !exit3 {
			t.Errorf("session %s: input %q, output %q, resized %v, exit 3 %v", id, input.String(), output.String(), resized, exit3)
		}

		// hoopctl replay shows the API calls and plays the terminal back;
		// asciicast carries the exec's output; verify passes.
		out, errs, code := b.Hoopctl("replay", id)
		t.Logf("hoopctl replay %s:\n%s%s", id, out, errs)
		for _, want := range []string{"alice> get pods " + pod + " -n default", "alice> create pods/exec " + pod, "typed-42", "3: command terminated with non-zero exit code", "verification: sealed"} {
			if code != 0 || !strings.Contains(out+errs, want) {
				t.Errorf("hoopctl replay %s: exit %d, no %q in\n%s%s", id, code, want, out, errs)
			}
		}
		out, errs, code = b.Hoopctl("replay", "--format", "asciicast", id)
		if code != 0 || !strings.HasPrefix(out, `{"version":2`) || !strings.Contains(out, "typed-42") {
			t.Errorf("hoopctl replay --format asciicast: exit %d\n%s%s", code, out, errs)
		}
		if out, errs, code = b.Hoopctl("verify", id); code != 0 {
			t.Errorf("hoopctl verify: exit %d\n%s%s", code, out, errs)
		}
	}
}

// TestAttach attaches to the pod's terminal through the broker.
func TestAttach(t *testing.T) {
	k := kubeCluster(t)
	b := kubeBroker(t, k)
	pod := "attach-" + fmt.Sprint(time.Now().UnixNano()%100000)
	if err := k.CreatePod("default", pod); err != nil {
		t.Fatal(err)
	}
	alice := newUser(t, b, k, "alice", testenv.KubeAdmins)
	cmd := alice.cmd("attach", "-it", pod)
	term := startPTY(t, cmd)
	term.type_("echo attached-$((2+3))\r")
	term.waitFor("attached-5")
	term.type_("exit\r")
	cmd.Wait()
	all := b.EventsOf(t, 1, brokertest.OnConnection("k8s"))
	for _, evs := range all {
		var out bytes.Buffer
		for _, ev := range evs {
			if ev.Kind == session.KindOutput {
				out.Write(brokertest.Payload[session.Bytes](t, ev).Data)
			}
		}
		if !strings.Contains(out.String(), "attached-5") {
			t.Errorf("attach output not recorded: %q", out.String())
		}
	}
}

// TestLogsAndPortForward follows a pod's log and forwards a port through the
// broker.
func TestLogsAndPortForward(t *testing.T) {
	k := kubeCluster(t)
	b := kubeBroker(t, k)
	pod := "pf-" + fmt.Sprint(time.Now().UnixNano()%100000)
	if err := k.CreatePod("default", pod); err != nil {
		t.Fatal(err)
	}
	alice := newUser(t, b, k, "alice", testenv.KubeAdmins)

	// logs -f streams lines as the pod writes them.
	k.AppendLog(pod, "line one")
	logs := alice.cmd("logs", "-f", pod)
	out, _ := logs.StdoutPipe()
	if err := logs.Start(); err != nil {
		t.Fatal(err)
	}
	sc := bufio.NewScanner(out)
	for _, want := range []string{"line one", "line two"} {
		if !sc.Scan() || sc.Text() != want {
			t.Fatalf("logs -f: %q, %v; want %q", sc.Text(), sc.Err(), want)
		}
		if want == "line one" {
			k.AppendLog(pod, "line two") // written after kubectl showed the first
		}
	}
	logs.Process.Kill()
	logs.Wait()

	echo, stop, err := testenv.EchoServer()
	if err != nil {
		t.Fatal(err)
	}
	defer stop()
	for _, tr := range transports {
		t.Run("port-forward/"+tr.name, func(t *testing.T) {
			local, _ := testenv.FreePort()
			pf := alice.with(tr.env...).cmd("port-forward", "pod/"+pod, fmt.Sprintf("%d:%d", local, echo))
			stdout, _ := pf.StdoutPipe()
			var stderr bytes.Buffer
			pf.Stderr = &stderr
			if err := pf.Start(); err != nil {
				t.Fatal(err)
			}
			defer func() { pf.Process.Kill(); pf.Wait() }()
			sc := bufio.NewScanner(stdout)
			if !sc.Scan() || !strings.HasPrefix(sc.Text(), "Forwarding from 127.0.0.1:") {
				t.Fatalf("port-forward: %q %v %s", sc.Text(), sc.Err(), stderr.String())
			}
			c, err := net.Dial("tcp", fmt.Sprintf("127.0.0.1:%d", local))
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			for _, m := range []string{"ping", "pong"} {
				fmt.Fprintf(c, "%s\n", m)
				got, err := bufio.NewReader(c).ReadString('\n')
				if err != nil || got != "echo: "+m+"\n" {
					t.Fatalf("through port-forward: %q, %v; want %q", got, err, "echo: "+m+"\n")
				}
			}
		})
	}
}

// ptyTerm is kubectl on a pseudo-terminal, as a person runs it.
type ptyTerm struct {
	t    *testing.T
	f    interface{ Write([]byte) (int, error) }
	mu   sync.Mutex
	buf  bytes.Buffer
	eof  bool          // kubectl closed the terminal
	more chan struct{} // signalled when output arrives
}

func startPTY(t *testing.T, cmd *exec.Cmd) *ptyTerm {
	t.Helper()
	f, err := pty.StartWithSize(cmd, &pty.Winsize{Rows: 30, Cols: 100})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { f.Close() })
	p := &ptyTerm{t: t, f: f, more: make(chan struct{}, 1)}
	go func() {
		b := make([]byte, 4096)
		for {
			n, err := f.Read(b)
			p.mu.Lock()
			p.buf.Write(b[:n])
			p.eof = err != nil
			p.mu.Unlock()
			select {
			case p.more <- struct{}{}:
			default:
			}
			if err != nil {
				return
			}
		}
	}()
	return p
}

func (p *ptyTerm) text() string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.buf.String()
}

// waitFor waits until the terminal shows s (the overall bound only stops a
// broken test from hanging; it is not a performance threshold).
func (p *ptyTerm) waitFor(s string) {
	p.t.Helper()
	deadline := time.After(60 * time.Second)
	for !strings.Contains(p.text(), s) {
		p.mu.Lock()
		eof := p.eof
		p.mu.Unlock()
		if eof {
			p.t.Fatalf("kubectl ended without showing %q; it showed %q", s, p.text())
		}
		select {
		case <-p.more:
		case <-deadline:
			p.t.Fatalf("terminal never showed %q; it shows %q", s, p.text())
		}
	}
}

func (p *ptyTerm) type_(s string) {
	p.t.Helper()
	if _, err := io.WriteString(p.f, s); err != nil {
		p.t.Fatal(err)
	}
}
