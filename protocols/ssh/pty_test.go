package ssh_test

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// terminal runs a program on a pseudo-terminal, as a person at a terminal
// would: ssh -tt sees a real tty, its size and SIGWINCH.
type terminal struct {
	t      *testing.T
	master *os.File
	cmd    *exec.Cmd
	done   chan error

	mu     sync.Mutex // guards screen
	screen bytes.Buffer
	more   chan struct{} // signalled when output arrives
	eof    chan struct{} // closed when the terminal has no writer left
}

func startTerminal(t *testing.T, cmd *exec.Cmd, cols, rows int) *terminal {
	t.Helper()
	master, err := os.OpenFile("/dev/ptmx", os.O_RDWR|syscall.O_NOCTTY, 0)
	if err != nil {
		t.Fatal(err)
	}
	fd := int(master.Fd())
	if err := unix.IoctlSetPointerInt(fd, unix.TIOCSPTLCK, 0); err != nil {
		t.Fatal(err)
	}
	n, err := unix.IoctlGetInt(fd, unix.TIOCGPTN)
	if err != nil {
		t.Fatal(err)
	}
	slave, err := os.OpenFile(fmt.Sprintf("/dev/pts/%d", n), os.O_RDWR|syscall.O_NOCTTY, 0)
	if err != nil {
		t.Fatal(err)
	}
	term := &terminal{t: t, master: master, cmd: cmd, done: make(chan error, 1), more: make(chan struct{}, 1), eof: make(chan struct{})}
	term.resize(cols, rows)
	cmd.Stdin, cmd.Stdout, cmd.Stderr = slave, slave, slave
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true, Setctty: true, Ctty: 0}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	slave.Close()
	go func() {
		defer close(term.eof)
		buf := make([]byte, 4096)
		for {
			n, err := master.Read(buf)
			if n > 0 {
				term.mu.Lock()
				term.screen.Write(buf[:n])
				term.mu.Unlock()
				select {
				case term.more <- struct{}{}:
				default:
				}
			}
			if err != nil {
				return
			}
		}
	}()
	go func() { term.done <- cmd.Wait() }()
	t.Cleanup(func() {
		cmd.Process.Kill()
		master.Close()
	})
	return term
}

// resize sets the terminal's size; the kernel signals SIGWINCH.
func (term *terminal) resize(cols, rows int) {
	ws := &unix.Winsize{Col: uint16(cols), Row: uint16(rows)}
	if err := unix.IoctlSetWinsize(int(term.master.Fd()), unix.TIOCSWINSZ, ws); err != nil {
		term.t.Fatal(err)
	}
}

// Screen is everything the program wrote to the terminal.
func (term *terminal) Screen() string {
	term.mu.Lock()
	defer term.mu.Unlock()
	return term.screen.String()
}

// expect waits until the screen ends with suffix.
func (term *terminal) expect(suffix string) {
	term.t.Helper()
	deadline := time.After(hangGuard)
	for !strings.HasSuffix(term.Screen(), suffix) {
		select {
		case <-term.more:
		case err := <-term.done:
			term.t.Fatalf("exited (%v) waiting for %q; screen:\n%q", err, suffix, term.Screen())
		case <-deadline:
			term.t.Fatalf("waiting for %q; screen:\n%q", suffix, term.Screen())
		}
	}
}

// typeLine types a line and the Enter key.
func (term *terminal) typeLine(s string) {
	term.t.Helper()
	if _, err := term.master.Write([]byte(s + "\r")); err != nil {
		term.t.Fatal(err)
	}
}

// wait waits for the program to exit and returns its exit code.
func (term *terminal) wait() int {
	term.t.Helper()
	select {
	case err := <-term.done:
		// Read what it wrote last: the master reads EIO once it is drained.
		select {
		case <-term.eof:
		case <-time.After(hangGuard):
			term.t.Fatal("the terminal never drained")
		}
		if ee, ok := err.(*exec.ExitError); ok {
			return ee.ExitCode()
		} else if err != nil {
			term.t.Fatal(err)
		}
		return 0
	case <-time.After(hangGuard):
		term.t.Fatalf("still running; screen:\n%q", term.Screen())
	}
	return -1
}
