package broker

import (
	"context"
	"errors"
	"io"
	"net"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"
)

// Serve returns only once every handle has returned, after canceling their
// contexts, and closes each connection after its handle.
func TestServeShutdown(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	const clients = 3
	var started, ended atomic.Int32
	handle := func(ctx context.Context, c net.Conn) {
		started.Add(1)
		<-ctx.Done()
		time.Sleep(50 * time.Millisecond) // a session sealing its record
		ended.Add(1)
	}
	ctx, cancel := context.WithCancel(context.Background())
	served := make(chan error, 1)
	go func() { served <- (&Endpoint{}).Serve(ctx, ln, handle) }()
	var conns []net.Conn
	for range clients {
		c, err := net.Dial("tcp", ln.Addr().String())
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		conns = append(conns, c)
	}
	for deadline := time.Now().Add(10 * time.Second); started.Load() < clients; time.Sleep(time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("%d handles started; want %d", started.Load(), clients)
		}
	}
	cancel()
	if err := waitServed(t, served); err != nil {
		t.Errorf("Serve returned %v; want nil", err)
	}
	if got := ended.Load(); got != clients {
		t.Errorf("Serve returned with %d handles ended; want %d", got, clients)
	}
	for _, c := range conns {
		c.SetReadDeadline(time.Now().Add(5 * time.Second))
		if _, err := c.Read(make([]byte, 1)); err != io.EOF {
			t.Errorf("client read %v; want EOF (the connection closed)", err)
		}
	}
	if _, err := net.Dial("tcp", ln.Addr().String()); err == nil {
		t.Error("the listener still accepts after Serve returned")
	}
}

// A handle that returns has its context canceled, without waiting for Serve
// to stop.
func TestServeConnContext(t *testing.T) {
	ln := newFakeListener(1)
	client, server := net.Pipe()
	defer client.Close()
	ln.conns <- server
	done := make(chan context.Context, 1)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go (&Endpoint{}).Serve(ctx, ln, func(ctx context.Context, c net.Conn) { done <- ctx })
	select {
	case cctx := <-done:
		select {
		case <-cctx.Done():
		case <-time.After(5 * time.Second):
			t.Fatal("the connection's context was not canceled after its handle returned")
		}
	case <-time.After(5 * time.Second):
		t.Fatal("handle was not called")
	}
}

// Temporary accept errors are retried; others end Serve, which returns them;
// a listener closed under Serve ends it with nil.
func TestServeAcceptErrors(t *testing.T) {
	fatal := errors.New("listener broke")
	for _, tc := range []struct {
		name string
		errs []error
		want error
	}{
		{"closed", []error{net.ErrClosed}, nil},
		{"fatal", []error{fatal}, fatal},
		{"temporary then fatal", []error{
			&net.OpError{Op: "accept", Net: "tcp", Err: syscall.EMFILE},
			&net.OpError{Op: "accept", Net: "tcp", Err: syscall.ECONNABORTED},
			fatal,
		}, fatal},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ln := newFakeListener(0, tc.errs...)
			served := make(chan error, 1)
			go func() {
				served <- (&Endpoint{}).Serve(context.Background(), ln, func(context.Context, net.Conn) {})
			}()
			if err := waitServed(t, served); err != tc.want {
				t.Errorf("Serve returned %v; want %v", err, tc.want)
			}
			if n := len(ln.errs); n != 0 {
				t.Errorf("%d accept errors left unread; want 0 (temporary ones retried)", n)
			}
		})
	}
}

// Serve stops waiting out a temporary accept error when ctx is done.
func TestServeBackoffShutdown(t *testing.T) {
	ln := newFakeListener(0, &net.OpError{Op: "accept", Net: "tcp", Err: syscall.EMFILE})
	ctx, cancel := context.WithCancel(context.Background())
	served := make(chan error, 1)
	go func() { served <- (&Endpoint{}).Serve(ctx, ln, func(context.Context, net.Conn) {}) }()
	for len(ln.errs) != 0 {
		time.Sleep(time.Millisecond)
	}
	cancel()
	if err := waitServed(t, served); err != nil {
		t.Errorf("Serve returned %v; want nil", err)
	}
}

// waitServed returns what Serve returned on served.
func waitServed(t *testing.T, served <-chan error) error {
	t.Helper()
	select {
	case err := <-served:
		return err
	case <-time.After(10 * time.Second):
		t.Fatal("Serve did not return")
		return nil
	}
}

// fakeListener hands out conns and errs, in no set order; it blocks when
// both are empty, until closed.
type fakeListener struct {
	conns     chan net.Conn
	errs      chan error
	closed    chan struct{}
	closeOnce sync.Once
}

func newFakeListener(conns int, errs ...error) *fakeListener {
	l := &fakeListener{conns: make(chan net.Conn, conns), errs: make(chan error, len(errs)), closed: make(chan struct{})}
	for _, err := range errs {
		l.errs <- err
	}
	return l
}

func (l *fakeListener) Accept() (net.Conn, error) {
	select {
	case c := <-l.conns:
		return c, nil
	case err := <-l.errs:
		return nil, err
	case <-l.closed:
		return nil, net.ErrClosed
	}
}

func (l *fakeListener) Close() error {
	l.closeOnce.Do(func() { close(l.closed) })
	return nil
}

func (l *fakeListener) Addr() net.Addr { return &net.TCPAddr{} }
