// Package server assembles a running broker from its configuration: the store,
// the signing key, the recorder, the admin API and one listener per connection
// served by its protocol package.
package server

import (
	"context"
	"crypto/ed25519"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"path/filepath"
	"sync"

	"github.com/hoophq/hoop/broker"
	"github.com/hoophq/hoop/config"
	"github.com/hoophq/hoop/internal/admin"
	httpproto "github.com/hoophq/hoop/protocols/http"
	"github.com/hoophq/hoop/protocols/kube"
	mysqlproto "github.com/hoophq/hoop/protocols/mysql"
	"github.com/hoophq/hoop/protocols/postgres"
	sshproto "github.com/hoophq/hoop/protocols/ssh"
	"github.com/hoophq/hoop/session"
	"github.com/hoophq/hoop/store"
)

// Protocol serves one connection's listener until ctx is done or the listener
// is closed. Per-client errors are the protocol's to answer natively; Serve
// returns only when it can no longer accept.
type Protocol func(ctx context.Context, ln net.Listener, ep *broker.Endpoint) error

// Protocols maps a connection's protocol to its implementation.
var Protocols = map[string]Protocol{
	"postgres": postgres.Serve,
	"http":     httpproto.Serve,
	"kube":     kube.Serve,
	"ssh":      sshproto.Serve,
	"mysql":    mysqlproto.Serve,
}

// StoreFile is the event store in the data dir.
const StoreFile = "events.db"

// Server is a running broker.
type Server struct {
	Config *config.Config
	Broker *broker.Broker
	Store  *store.Bolt
	Log    *slog.Logger

	rec       *session.Recorder
	listeners map[string]net.Listener
	admin     *admin.Server
	adminLn   net.Listener
	cancel    context.CancelFunc
	wg        sync.WaitGroup
	errc      chan error
}

// Start opens the store and starts every listener. Listening on port 0 is
// allowed; Addr tells the port chosen.
func Start(ctx context.Context, cfg *config.Config, log *slog.Logger) (*Server, error) {
	key, err := broker.LoadOrCreateKey(cfg.Broker.DataDir)
	if err != nil {
		return nil, fmt.Errorf("broker key: %w", err)
	}
	st, err := store.Open(filepath.Join(cfg.Broker.DataDir, StoreFile), store.Options{})
	if err != nil {
		return nil, err
	}
	if n, err := session.MarkCut(st, cfg.Broker.ID); err != nil {
		st.Close()
		return nil, err
	} else if n > 0 {
		log.Warn("sessions cut by an earlier stop of the broker; they stay unsealed", "count", n)
	}
	rec := session.NewRecorder(st, session.Options{Key: key, BrokerID: cfg.Broker.ID, FsyncInterval: cfg.Broker.FsyncInterval.D()})
	ctx, cancel := context.WithCancel(ctx)
	s := &Server{
		Config:    cfg,
		Broker:    broker.New(cfg, key, rec, log),
		Store:     st,
		Log:       log,
		rec:       rec,
		listeners: map[string]net.Listener{},
		cancel:    cancel,
		errc:      make(chan error, len(cfg.Connections)+1),
	}
	for _, conn := range cfg.Connections {
		if err := s.listen(ctx, conn); err != nil {
			s.Close()
			return nil, err
		}
	}
	if err := s.listenAdmin(); err != nil {
		s.Close()
		return nil, err
	}
	return s, nil
}

// listenAdmin starts the admin API on cfg.Admin.Listen.
func (s *Server) listenAdmin() error {
	tokens := make([]string, len(s.Config.Admin.Tokens))
	for i, t := range s.Config.Admin.Tokens {
		tokens[i] = t.Value()
	}
	s.admin = admin.New(admin.Config{
		Tokens:   tokens,
		Store:    s.Store,
		Recorder: s.rec,
		Keys:     []ed25519.PublicKey{s.rec.PublicKey()},
		Issuer:   s.Broker.Authenticator(),
		Log:      s.Log.With("component", "admin"),
	})
	ln, err := net.Listen("tcp", s.Config.Admin.Listen)
	if err != nil {
		return fmt.Errorf("admin API: %w", err)
	}
	s.adminLn = ln
	s.Log.Info("admin API listening", "addr", ln.Addr().String())
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		if err := s.admin.Serve(ln); err != nil {
			s.errc <- fmt.Errorf("admin API: %w", err)
		}
	}()
	return nil
}

// AdminAddr is the address the admin API listens on.
func (s *Server) AdminAddr() string {
	if s.adminLn == nil {
		return ""
	}
	return s.adminLn.Addr().String()
}

func (s *Server) listen(ctx context.Context, conn *config.Connection) error {
	serve, ok := Protocols[conn.Protocol]
	if !ok {
		return fmt.Errorf("connection %s: protocol %q is not built in", conn.Name, conn.Protocol)
	}
	ep, err := s.Broker.Endpoint(conn)
	if err != nil {
		return err
	}
	ln, err := net.Listen("tcp", conn.Listen)
	if err != nil {
		return fmt.Errorf("connection %s: %w", conn.Name, err)
	}
	s.listeners[conn.Name] = ln
	s.Log.Info("listening", "connection", conn.Name, "protocol", conn.Protocol, "addr", ln.Addr().String(), "tls", conn.TLS.Mode)
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		if err := serve(ctx, ln, ep); err != nil && ctx.Err() == nil && !errors.Is(err, net.ErrClosed) {
			s.errc <- fmt.Errorf("connection %s: %w", conn.Name, err)
		}
	}()
	return nil
}

// Addr is the address connection name listens on.
func (s *Server) Addr(name string) string {
	if ln, ok := s.listeners[name]; ok {
		return ln.Addr().String()
	}
	return ""
}

// Recorder is the session recorder.
func (s *Server) Recorder() *session.Recorder { return s.rec }

// Wait blocks until ctx is done or a listener fails.
func (s *Server) Wait(ctx context.Context) error {
	select {
	case <-ctx.Done():
		return nil
	case err := <-s.errc:
		return err
	}
}

// Close stops accepting, waits for the protocols' accept loops, then commits
// what the recorder holds and closes the store. Sessions still running are cut
// (they stay unsealed).
func (s *Server) Close() error {
	s.cancel()
	if s.admin != nil {
		s.admin.Close() // ends follow streams before the recorder stops
	}
	for _, ln := range s.listeners {
		ln.Close()
	}
	s.wg.Wait()
	err := s.rec.Close()
	if cerr := s.Store.Close(); err == nil {
		err = cerr
	}
	return err
}
