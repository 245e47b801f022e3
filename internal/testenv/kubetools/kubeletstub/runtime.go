package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"sync"
	"time"

	"github.com/creack/pty"
	"k8s.io/cri-streaming/pkg/streaming/remotecommand"
	utilexec "k8s.io/utils/exec"
)

// runtime runs "containers" as processes of the stub.
type runtime struct{}

func (runtime) ExecInContainer(ctx context.Context, _, _, _ string, cmd []string, in io.Reader, out, errw io.WriteCloser, tty bool, resize <-chan remotecommand.TerminalSize, _ time.Duration) error {
	return run(ctx, cmd, in, out, errw, tty, resize)
}

func (runtime) AttachContainer(ctx context.Context, _, _, _ string, in io.Reader, out, errw io.WriteCloser, tty bool, resize <-chan remotecommand.TerminalSize) error {
	return run(ctx, []string{"/bin/sh"}, in, out, errw, tty, resize)
}

func (runtime) PortForward(ctx context.Context, _, _ string, port int32, stream io.ReadWriteCloser) error {
	defer stream.Close()
	c, err := net.Dial("tcp", fmt.Sprintf("127.0.0.1:%d", port))
	if err != nil {
		return err
	}
	defer c.Close()
	done := make(chan struct{}, 2)
	go func() { io.Copy(c, stream); c.(*net.TCPConn).CloseWrite(); done <- struct{}{} }()
	go func() { io.Copy(stream, c); done <- struct{}{} }()
	<-done
	<-done
	return nil
}

func run(ctx context.Context, argv []string, in io.Reader, out, errw io.WriteCloser, tty bool, resize <-chan remotecommand.TerminalSize) error {
	if len(argv) == 0 {
		return errors.New("no command")
	}
	c := exec.CommandContext(ctx, argv[0], argv[1:]...)
	c.Env = append(os.Environ(), "PS1=$ ", "TERM=xterm")
	if tty {
		f, err := pty.Start(c)
		if err != nil {
			return err
		}
		defer f.Close()
		go func() {
			for sz := range resize {
				pty.Setsize(f, &pty.Winsize{Cols: sz.Width, Rows: sz.Height})
			}
		}()
		if in != nil {
			go io.Copy(f, in)
		}
		var wg sync.WaitGroup
		wg.Add(1)
		go func() { defer wg.Done(); io.Copy(out, f) }()
		err = c.Wait()
		f.Close()
		wg.Wait()
		return exitErr(err)
	}
	if in != nil {
		c.Stdin = in
	}
	c.Stdout = out
	if errw != nil {
		c.Stderr = errw
	} else {
		c.Stderr = out
	}
	return exitErr(c.Run())
}

func exitErr(err error) error {
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		return utilexec.ExitErrorWrapper{ExitError: ee}
	}
	return err
}
