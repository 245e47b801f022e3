package mysql

import (
	"context"
	"net"

	"github.com/hoophq/hoop/broker"
)

// Serve serves MySQL and MariaDB clients on ln for the endpoint's connection
// until ctx is done or ln is closed. Then it cuts the client connections it
// still serves, waits for their sessions to end, and returns.
func Serve(ctx context.Context, ln net.Listener, ep *broker.Endpoint) error {
	s := &server{ep: ep, threads: newThreads()}
	return ep.Serve(ctx, ln, s.serveConn)
}

// server is one endpoint's listener state.
type server struct {
	ep      *broker.Endpoint
	threads *threads
}

// serveConn serves one client connection. When ctx is canceled (the broker
// shuts down) it cuts the connection: its session ends with errShutdown.
func (s *server) serveConn(ctx context.Context, nc net.Conn) {
	c := newConn(s, nc)
	stop := context.AfterFunc(ctx, func() { c.abort(errShutdown) })
	defer stop()
	c.serve(ctx)
}
