package cli

import (
	"context"
	"crypto/ed25519"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/hoophq/hoop/broker"
	"github.com/hoophq/hoop/config"
	"github.com/hoophq/hoop/internal/admin"
	"github.com/hoophq/hoop/internal/server"
	"github.com/hoophq/hoop/session"
	"github.com/hoophq/hoop/store"
)

// source is where recordings are read: the admin API of a running broker, or
// the store of a stopped one. Records hands over the records as stored; the
// commands verify and decode them (session.Chain) the same way for both.
type source interface {
	Sessions(ctx context.Context, f admin.Filter) ([]session.Info, error)
	Session(ctx context.Context, id string) (session.Info, error)
	Records(ctx context.Context, id string, after uint64, follow bool, fn func(seq uint64, data []byte) error) error
	Keys(ctx context.Context) ([]ed25519.PublicKey, error)
	// Live says whether sessions without an outcome may still be running.
	Live() bool
	Close() error
}

// source opens the store named by --store, or else a client of the admin API.
func (g *globals) source() (source, error) {
	if g.store != "" {
		return openStore(g.store)
	}
	c, err := g.client()
	if err != nil {
		return nil, err
	}
	return remote{c}, nil
}

// client is the admin API client: --server and --admin-token, else what
// --config says, else $HOOP_SERVER and $HOOP_ADMIN_TOKEN, else the default
// address.
func (g *globals) client() (*admin.Client, error) {
	server, token := g.server, g.token
	if g.config != "" {
		cfg, err := config.LoadClient(g.config)
		if err != nil {
			return nil, err
		}
		if !g.root.PersistentFlags().Changed("server") {
			server = dialAddr(cfg.Admin.Listen)
		}
		if !g.root.PersistentFlags().Changed("admin-token") && len(cfg.Admin.Tokens) > 0 {
			token = cfg.Admin.Tokens[0].Value()
		}
	}
	if server == "" {
		server = os.Getenv(EnvServer)
	}
	if server == "" {
		server = DefaultServer
	}
	if token == "" {
		token = os.Getenv(EnvAdminToken)
	}
	if token == "" {
		return nil, fmt.Errorf("no admin token: pass --admin-token, set $%s, or --config with the broker's configuration", EnvAdminToken)
	}
	if !strings.Contains(server, "://") {
		server = "http://" + server
	}
	return &admin.Client{URL: server, Token: token}, nil
}

// dialAddr turns a listen address into a URL to reach it from this host: a
// wildcard host becomes loopback.
func dialAddr(listen string) string {
	host, port, err := net.SplitHostPort(listen)
	if err != nil {
		return "http://" + listen
	}
	switch host {
	case "", "0.0.0.0":
		host = "127.0.0.1"
	case "::":
		host = "::1"
	}
	return "http://" + net.JoinHostPort(host, port)
}

type remote struct{ *admin.Client }

func (remote) Live() bool   { return true }
func (remote) Close() error { return nil }

// storeSource reads a stopped broker's store, read-only.
type storeSource struct {
	st   *store.Bolt
	keys []ed25519.PublicKey
}

// openStore opens a data dir's events.db (or the file named) read-only, and
// the broker.pub beside it.
func openStore(path string) (*storeSource, error) {
	if fi, err := os.Stat(path); err == nil && fi.IsDir() {
		path = filepath.Join(path, server.StoreFile)
	}
	pubPath := filepath.Join(filepath.Dir(path), broker.PublicKeyFile)
	pub, err := broker.LoadPublicKey(pubPath)
	if err != nil {
		return nil, fmt.Errorf("the broker's public key (it checks the seals): %w", err)
	}
	st, err := store.Open(path, store.Options{ReadOnly: true, LockTimeout: 500 * time.Millisecond})
	if errors.Is(err, store.ErrLocked) {
		return nil, fmt.Errorf("%s is held by a running broker: read it through the broker's admin API (--server, or --config broker.yaml) instead of --store", path)
	}
	if err != nil {
		return nil, err
	}
	return &storeSource{st: st, keys: []ed25519.PublicKey{pub}}, nil
}

func (s *storeSource) Sessions(_ context.Context, f admin.Filter) ([]session.Info, error) {
	return admin.List(s.st, f)
}

func (s *storeSource) Session(_ context.Context, id string) (session.Info, error) {
	return admin.Get(s.st, id)
}

func (s *storeSource) Records(ctx context.Context, id string, after uint64, follow bool, fn func(seq uint64, data []byte) error) error {
	if follow {
		return errors.New("--follow needs a running broker: use its admin API (--server or --config), not --store")
	}
	var ferr error
	err := s.st.Records(id, after, func(r store.Record) bool {
		if ferr = ctx.Err(); ferr == nil {
			ferr = fn(r.Seq, r.Data)
		}
		return ferr == nil
	})
	if err == nil {
		err = ferr
	}
	return err
}

func (s *storeSource) Keys(context.Context) ([]ed25519.PublicKey, error) { return s.keys, nil }
func (s *storeSource) Live() bool                                        { return false }
func (s *storeSource) Close() error                                      { return s.st.Close() }

// resolve turns "latest" into the newest session's id.
func resolve(ctx context.Context, src source, id string) (string, error) {
	if id != "latest" {
		return id, nil
	}
	list, err := src.Sessions(ctx, admin.Filter{Limit: 1})
	if err != nil {
		return "", err
	}
	if len(list) == 0 {
		return "", errors.New("no sessions recorded yet")
	}
	return list[0].ID, nil
}

// play feeds a session's records through a verifying chain and hands each
// verified event to fn. Records after a broken one are still fed to the
// chain (they tell which record was altered) but not handed on.
func play(ctx context.Context, src source, id string, follow bool, fn func(ev *session.Event) error) (session.Report, error) {
	keys, err := src.Keys(ctx)
	if err != nil {
		return session.Report{}, err
	}
	chain := session.NewChain(id, keys...)
	err = src.Records(ctx, id, 0, follow, func(seq uint64, data []byte) error {
		ev, err := chain.Add(seq, data)
		if err != nil || fn == nil {
			return nil
		}
		return fn(ev)
	})
	return chain.Report(), err
}
