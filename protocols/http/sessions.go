package http

import (
	"context"
	"crypto/sha256"
	"net"
	"sync"
	"time"

	"github.com/hoophq/hoop/broker"
)

// A Session is a recorded broker session shared by the requests of one
// caller: one client connection, or the connections a Dialect groups.
type Session struct {
	*broker.Session

	key   sessionKey
	conns map[uint64]struct{} // client connections that carried it; guarded by registry.mu
	busy  int                 // requests in flight; guarded by registry.mu
	ended bool                // guarded by registry.mu

	mu        sync.Mutex // guards the assertion cache
	assertion string
	renew     time.Time
}

// Assertion returns the caller's signed identity assertion, valid for ttl,
// re-signed when half of it has passed.
func (s *Session) Assertion(ttl time.Duration) (string, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	now := time.Now()
	if s.assertion != "" && now.Before(s.renew) {
		return s.assertion, nil
	}
	a, err := s.Session.Assertion(ttl)
	if err != nil {
		return "", err
	}
	s.assertion, s.renew = a, now.Add(ttl/2)
	return a, nil
}

type sessionKey struct {
	token [sha256.Size]byte
	group string // the Dialect's group, or "" for the connection alone
	conn  uint64 // the client connection when group is ""
}

// registry finds the session of a request and ends sessions whose last
// connection closed.
type registry struct {
	ep *broker.Endpoint

	mu       sync.Mutex
	sessions map[sessionKey]*pending
	byConn   map[uint64][]sessionKey
}

// pending is a session being opened, or open: later requests with the same
// key wait for the first one's authentication instead of opening another.
type pending struct {
	ready chan struct{}
	s     *Session
	err   error
}

func newRegistry(ep *broker.Endpoint) *registry {
	return &registry{ep: ep, sessions: map[sessionKey]*pending{}, byConn: map[uint64][]sessionKey{}}
}

// acquire returns the session for a request on client connection conn with
// token, opening it on first use, and counts the request in flight: release
// must follow. Errors are *broker.AuthError, *broker.DeniedError or recording
// errors.
func (g *registry) acquire(ctx context.Context, conn uint64, addr net.Addr, token, group string, meta map[string]string) (*Session, error) {
	k := sessionKey{token: sha256.Sum256([]byte(token)), group: group}
	if group == "" {
		k.conn = conn
	}
	for {
		g.mu.Lock()
		p, ok := g.sessions[k]
		if !ok {
			p = &pending{ready: make(chan struct{})}
			g.sessions[k] = p
			g.mu.Unlock()
			s, err := g.open(ctx, k, addr, token, meta)
			g.mu.Lock()
			p.s, p.err = s, err
			if err != nil && g.sessions[k] == p {
				delete(g.sessions, k)
			}
			close(p.ready)
			g.mu.Unlock()
		} else {
			g.mu.Unlock()
			<-p.ready
		}
		if p.err != nil {
			return nil, p.err
		}
		s := p.s
		g.mu.Lock()
		if s.ended {
			// It ended between the lookup and now: open a new one.
			g.mu.Unlock()
			continue
		}
		if exp := s.Identity().Expiry; !exp.IsZero() && time.Now().After(exp) {
			g.mu.Unlock()
			return nil, &broker.AuthError{Reason: "token expired"}
		}
		if _, seen := s.conns[conn]; !seen {
			s.conns[conn] = struct{}{}
			g.byConn[conn] = append(g.byConn[conn], k)
		}
		s.busy++
		g.mu.Unlock()
		return s, nil
	}
}

func (g *registry) open(ctx context.Context, k sessionKey, addr net.Addr, token string, meta map[string]string) (*Session, error) {
	client := broker.Client{Addr: addr, Meta: meta}
	id, err := g.ep.Authenticate(ctx, token)
	if err != nil {
		g.ep.Deny(client, err.Error())
		return nil, err
	}
	bs, err := g.ep.Open(ctx, id, client)
	if err != nil {
		return nil, err
	}
	return &Session{Session: bs, key: k, conns: map[uint64]struct{}{}}, nil
}

// release ends a request of s.
func (g *registry) release(s *Session) {
	g.mu.Lock()
	s.busy--
	end := g.idle(s)
	g.mu.Unlock()
	if end {
		s.End(nil)
	}
}

// closed forgets a client connection that closed (or was hijacked: its
// request holds the session until it returns).
func (g *registry) closed(conn uint64) {
	g.mu.Lock()
	var ended []*Session
	for _, k := range g.byConn[conn] {
		p := g.sessions[k]
		if p == nil || p.s == nil {
			continue
		}
		delete(p.s.conns, conn)
		if g.idle(p.s) {
			ended = append(ended, p.s)
		}
	}
	delete(g.byConn, conn)
	g.mu.Unlock()
	for _, s := range ended {
		s.End(nil)
	}
}

// idle marks s ended when nothing uses it any more. g.mu is held.
func (g *registry) idle(s *Session) bool {
	if s.ended || s.busy > 0 || len(s.conns) > 0 {
		return false
	}
	s.ended = true
	if p := g.sessions[s.key]; p != nil && p.s == s {
		delete(g.sessions, s.key)
	}
	return true
}

// endAll ends every open session (the listener is shutting down).
func (g *registry) endAll() {
	g.mu.Lock()
	var all []*Session
	for k, p := range g.sessions {
		if p.s != nil && !p.s.ended {
			p.s.ended = true
			all = append(all, p.s)
		}
		delete(g.sessions, k)
	}
	g.byConn = map[uint64][]sessionKey{}
	g.mu.Unlock()
	for _, s := range all {
		s.End(nil)
	}
}
