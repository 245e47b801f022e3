package admin

import (
	"context"
	"crypto/ed25519"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/json"
	"errors"
	"log/slog"
	"net"
	"net/http"
	"net/http/pprof"
	"strings"
	"time"

	"github.com/hoophq/hoop/broker"
	"github.com/hoophq/hoop/store"
)

// Committer tells when the recorder has committed; followers of live sessions
// wait on it (*session.Recorder).
type Committer interface {
	Committed() <-chan struct{}
}

// Issuer signs broker tokens (*broker.Authenticator).
type Issuer interface {
	Issue(req broker.TokenRequest) (string, error)
}

var _ Issuer = (*broker.Authenticator)(nil)

// Config is what the admin API serves.
type Config struct {
	// Tokens are the accepted admin bearer tokens; empty ones are ignored.
	Tokens []string
	// Store holds the sessions.
	Store Store
	// Recorder tells followers when to read again; nil disables follow (the
	// stream ends at the last stored record).
	Recorder Committer
	// Keys verify seals and broker tokens; the first is the current one.
	Keys []ed25519.PublicKey
	// Issuer signs tokens; nil disables POST /v1/tokens.
	Issuer Issuer
	// Log receives one line per request (never the token) and errors.
	Log *slog.Logger
}

// Server is the admin API.
type Server struct {
	cfg    Config
	tokens [][sha256.Size]byte
	log    *slog.Logger
	http   *http.Server
	ctx    context.Context // canceled by Close: ends follow streams
	cancel context.CancelFunc
	now    func() time.Time
}

// New returns the admin API for cfg. Serve it on a listener.
func New(cfg Config) *Server {
	log := cfg.Log
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	s := &Server{cfg: cfg, log: log, now: time.Now}
	for _, t := range cfg.Tokens {
		if t != "" {
			s.tokens = append(s.tokens, sha256.Sum256([]byte(t)))
		}
	}
	s.ctx, s.cancel = context.WithCancel(context.Background())
	s.http = &http.Server{
		Handler:           s.Handler(),
		ReadHeaderTimeout: 10 * time.Second,
		IdleTimeout:       2 * time.Minute,
		BaseContext:       func(net.Listener) context.Context { return s.ctx },
		ErrorLog:          slog.NewLogLogger(log.Handler(), slog.LevelWarn),
	}
	return s
}

// Handler is the API's handler, authentication included.
func (s *Server) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("/v1/sessions", s.method("GET", s.sessions))
	mux.HandleFunc("/v1/sessions/{id}", s.method("GET", s.session))
	mux.HandleFunc("/v1/sessions/{id}/records", s.method("GET", s.records))
	mux.HandleFunc("/v1/keys", s.method("GET", s.keys))
	mux.HandleFunc("/v1/tokens", s.method("POST", s.token))
	// Go's profiler, behind the same admin token: the broker's own CPU and
	// memory, for make bench and for operators.
	mux.HandleFunc("/debug/pprof/", pprof.Index)
	mux.HandleFunc("/debug/pprof/profile", pprof.Profile)
	mux.HandleFunc("/debug/pprof/trace", pprof.Trace)
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		writeError(w, http.StatusNotFound, "no such route: "+r.URL.Path)
	})
	return s.logged(s.authenticated(mux))
}

// Serve serves the API on ln until Close.
func (s *Server) Serve(ln net.Listener) error {
	err := s.http.Serve(ln)
	if errors.Is(err, http.ErrServerClosed) {
		return nil
	}
	return err
}

// Close ends follow streams and stops serving, waiting briefly for requests
// in flight.
func (s *Server) Close() error {
	s.cancel()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	if err := s.http.Shutdown(ctx); err != nil {
		return s.http.Close()
	}
	return nil
}

// authorized compares the bearer token with every configured token in
// constant time (hashed first, so lengths don't leak either).
func (s *Server) authorized(r *http.Request) bool {
	tok, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
	if !ok || tok == "" {
		return false
	}
	sum := sha256.Sum256([]byte(tok))
	match := 0
	for i := range s.tokens {
		match |= subtle.ConstantTimeCompare(sum[:], s.tokens[i][:])
	}
	return match == 1
}

func (s *Server) authenticated(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !s.authorized(r) {
			s.log.Warn("admin request refused: bad or missing admin token", "method", r.Method, "path", r.URL.Path, "remote", r.RemoteAddr)
			w.Header().Set("WWW-Authenticate", `Bearer realm="hoop admin"`)
			writeError(w, http.StatusUnauthorized, "a valid admin token is required (Authorization: Bearer ...)")
			return
		}
		next.ServeHTTP(w, r)
	})
}

// statusWriter remembers the status for the request log.
type statusWriter struct {
	http.ResponseWriter
	status int
}

func (w *statusWriter) WriteHeader(code int) {
	if w.status == 0 {
		w.status = code
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *statusWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

func (s *Server) logged(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		sw := &statusWriter{ResponseWriter: w}
		next.ServeHTTP(sw, r)
		if sw.status == 0 {
			sw.status = http.StatusOK
		}
		// The query is logged, the headers (the token) never are.
		s.log.Debug("admin request", "method", r.Method, "path", r.URL.Path, "query", r.URL.RawQuery,
			"status", sw.status, "remote", r.RemoteAddr, "took", time.Since(start).Round(time.Microsecond))
	})
}

// method refuses other methods than m.
func (s *Server) method(m string, h http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if r.Method != m && !(m == "GET" && r.Method == "HEAD") {
			w.Header().Set("Allow", m)
			writeError(w, http.StatusMethodNotAllowed, r.Method+" is not allowed here; use "+m)
			return
		}
		h(w, r)
	}
}

// errorBody is the body of every error response.
type errorBody struct {
	Error string `json:"error"`
}

func writeError(w http.ResponseWriter, status int, msg string) {
	writeJSON(w, status, errorBody{Error: msg})
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(v)
}

// storeError answers a store failure: 404 for an unknown session, 500
// (logged) otherwise.
func (s *Server) storeError(w http.ResponseWriter, err error) {
	if errors.Is(err, store.ErrNotFound) {
		writeError(w, http.StatusNotFound, err.Error())
		return
	}
	s.log.Error("admin API: store read failed", "err", err)
	writeError(w, http.StatusInternalServerError, "reading the store failed: "+err.Error())
}
