package mysql

import (
	"context"
	"errors"
	"net"
	"sync"
	"time"

	"github.com/hoophq/hoop/broker"
)

// Serve serves MySQL and MariaDB clients on ln for the endpoint's connection
// until ctx is done or ln is closed. When ctx is done it closes the client
// connections it still serves, waits for their sessions to end, and returns.
func Serve(ctx context.Context, ln net.Listener, ep *broker.Endpoint) error {
	s := &server{ep: ep, threads: newThreads(), conns: map[*conn]struct{}{}}
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	go func() {
		<-ctx.Done()
		ln.Close()
	}()
	var wg sync.WaitGroup
	defer wg.Wait()
	defer s.closeAll()
	var delay time.Duration
	for {
		nc, err := ln.Accept()
		if err != nil {
			if ctx.Err() != nil || errors.Is(err, net.ErrClosed) {
				return nil
			}
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() {
				// Out of file descriptors and the like: back off, as net/http does.
				delay = min(max(2*delay, 5*time.Millisecond), time.Second)
				time.Sleep(delay)
				continue
			}
			return err
		}
		delay = 0
		c := s.newConn(nc)
		if c == nil {
			nc.Close()
			return nil // shutting down
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer s.forget(c)
			c.serve(ctx)
		}()
	}
}

// server is one endpoint's listener state.
type server struct {
	ep      *broker.Endpoint
	threads *threads

	mu     sync.Mutex
	conns  map[*conn]struct{} // guarded by mu
	closed bool               // guarded by mu
}

func (s *server) newConn(nc net.Conn) *conn {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return nil
	}
	c := newConn(s, nc)
	s.conns[c] = struct{}{}
	return c
}

func (s *server) forget(c *conn) {
	s.mu.Lock()
	delete(s.conns, c)
	s.mu.Unlock()
}

// closeAll cuts every client connection: their sessions end with an error.
func (s *server) closeAll() {
	s.mu.Lock()
	s.closed = true
	conns := make([]*conn, 0, len(s.conns))
	for c := range s.conns {
		conns = append(conns, c)
	}
	s.mu.Unlock()
	for _, c := range conns {
		c.abort(errShutdown)
	}
}
