package ssh_test

import (
	"io"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/hoophq/hoop/session"
)

const stallBytes = 64 << 20

// heapGrowth samples the heap for a moment and returns the largest growth
// over base. The samples are spaced so the relay has time to run; no
// assertion is made on time, only on memory.
func heapGrowth(base uint64) uint64 {
	var most uint64
	for range 20 {
		time.Sleep(50 * time.Millisecond)
		var m runtime.MemStats
		runtime.ReadMemStats(&m)
		if m.HeapInuse > base && m.HeapInuse-base > most {
			most = m.HeapInuse - base
		}
	}
	return most
}

func heapNow() uint64 {
	runtime.GC()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return m.HeapInuse
}

// TestStalledClient: a client that stops reading while the upstream has
// 64 MiB to send holds the broker's memory to the channel windows; when it
// reads again, every byte arrives.
func TestStalledClient(t *testing.T) {
	e := newEnv(t, connOpts{})
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	cmd := e.command("ssh", auth{token: e.Token(t, "alice", "ops")}, "-p", e.port("box"), "u@127.0.0.1", "head -c 67108864 /dev/zero")
	cmd.Stdout = w
	done := make(chan error, 1)
	base := heapNow()
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	w.Close()
	go func() { done <- cmd.Wait() }()
	// Output flows (the first chunk is recorded), then the client's pipe
	// fills and nobody reads it.
	e.waitEvent(func(ev *session.Event) bool { return ev.Kind == session.KindOutput })
	grew := heapGrowth(base)
	t.Logf("heap growth while stalled: %.1f MiB", float64(grew)/(1<<20))
	if grew > 32<<20 {
		t.Errorf("the broker's heap grew by %d MiB behind a stalled client", grew>>20)
	}
	n, err := io.Copy(io.Discard, r)
	if err != nil || n != stallBytes {
		t.Errorf("read %d bytes, %v; want %d", n, err, stallBytes)
	}
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("ssh: %v", err)
		}
	case <-time.After(hangGuard):
		t.Fatal("ssh hangs")
	}
}

// TestStalledUpstream: an upstream command that does not read its input
// while the client sends 64 MiB holds the broker's memory the same way.
func TestStalledUpstream(t *testing.T) {
	e := newEnv(t, connOpts{})
	fifo := filepath.Join(e.sshd.Files, "gate")
	if err := syscall.Mkfifo(fifo, 0o666); err != nil {
		t.Fatal(err)
	}
	os.Chmod(fifo, 0o666)
	src, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	// The remote command waits at the gate before it reads its input.
	cmd := e.command("ssh", auth{token: e.Token(t, "alice", "ops")}, "-p", e.port("box"), "u@127.0.0.1", "cat "+fifo+"; wc -c")
	cmd.Stdin = src
	var out strings.Builder
	cmd.Stdout = &out
	base := heapNow()
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	src.Close()
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	fed := make(chan error, 1)
	go func() {
		_, err := io.CopyN(w, zeros{}, stallBytes)
		w.Close()
		fed <- err
	}()
	e.waitEvent(func(ev *session.Event) bool { return ev.Kind == session.KindInput })
	grew := heapGrowth(base)
	t.Logf("heap growth while stalled: %.1f MiB", float64(grew)/(1<<20))
	if grew > 32<<20 {
		t.Errorf("the broker's heap grew by %d MiB in front of a stalled upstream", grew>>20)
	}
	select {
	case <-fed:
		t.Error("all the input was taken while the upstream read none: nothing held the client back")
	default:
	}
	// Open the gate.
	g, err := os.OpenFile(fifo, os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	g.Close()
	select {
	case err := <-done:
		if err != nil || strings.TrimSpace(out.String()) != "67108864" {
			t.Errorf("ssh: %v; wc -c said %q", err, out.String())
		}
	case <-time.After(hangGuard):
		t.Fatal("ssh hangs")
	}
}

type zeros struct{}

func (zeros) Read(p []byte) (int, error) {
	clear(p)
	return len(p), nil
}
