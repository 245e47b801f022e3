package http

import (
	"context"
	"errors"
	"io"
	"log"
	"net"
	"net/http"
	"sync"
	"sync/atomic"
)

type connIDKey struct{}

// connID is the client connection a request came on.
func connID(ctx context.Context) uint64 {
	id, _ := ctx.Value(connIDKey{}).(uint64)
	return id
}

// ServeProxy serves p on ln until ctx is done or ln fails: TLS with HTTP/2
// when the endpoint has a TLS configuration, plaintext HTTP/1.1 otherwise.
// Every client connection is tracked so that sessions end when their last
// connection closes.
func ServeProxy(ctx context.Context, ln net.Listener, p *Proxy) error {
	base, cancel := context.WithCancel(context.WithoutCancel(ctx))
	defer cancel()
	var (
		next  atomic.Uint64
		mu    sync.Mutex
		conns = map[net.Conn]uint64{}
	)
	srv := &http.Server{
		Handler:           p,
		ReadHeaderTimeout: p.ep.Conn.HandshakeTimeout.D(),
		MaxHeaderBytes:    1 << 20,
		// Protocol packages never log: the standard library's complaints
		// (TLS handshake errors of clients) are dropped.
		ErrorLog: log.New(io.Discard, "", 0),
		// Requests, hijacked ones too, end when the listener is shut down.
		BaseContext: func(net.Listener) context.Context { return base },
		ConnContext: func(c context.Context, nc net.Conn) context.Context {
			id := next.Add(1)
			mu.Lock()
			conns[nc] = id
			mu.Unlock()
			return context.WithValue(c, connIDKey{}, id)
		},
		ConnState: func(nc net.Conn, st http.ConnState) {
			if st != http.StateClosed && st != http.StateHijacked {
				return
			}
			mu.Lock()
			id, ok := conns[nc]
			delete(conns, nc)
			mu.Unlock()
			if ok {
				p.sessions.closed(id)
			}
		},
	}
	errc := make(chan error, 1)
	go func() {
		if p.ep.TLS != nil {
			srv.TLSConfig = p.ep.TLS.Clone()
			errc <- srv.ServeTLS(ln, "", "")
		} else {
			errc <- srv.Serve(ln)
		}
	}()
	select {
	case err := <-errc:
		p.sessions.endAll()
		return err
	case <-ctx.Done():
	}
	// Sessions still running are cut, like the broker's other protocols do.
	srv.Close()
	cancel()
	if err := <-errc; err != nil && !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	p.sessions.endAll()
	return nil
}
