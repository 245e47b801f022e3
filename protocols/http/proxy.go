package http

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"net/http/httputil"
	"net/netip"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/hoophq/hoop/broker"
	"github.com/hoophq/hoop/session"
)

// Dialect specialises the proxy for one protocol: Plain for internal HTTP
// services, kube for the Kubernetes API.
type Dialect interface {
	// Group names the session a request joins across client connections, or
	// "" for a session per connection.
	Group(r *http.Request) string
	// Reserved returns the first request header the client may not set
	// (the broker sets it), or "".
	Reserved(h http.Header) string
	// Describe completes the command of a request: Type, Text, protocol
	// detail. It redacts cmd.HTTP.Body in place where the body holds secrets.
	// complete says whether the body was captured whole.
	Describe(r *http.Request, cmd *session.Command, complete bool)
	// Prepare turns the client's request into the upstream's: it sets the
	// upstream credential and the caller's identity (Authorization is already
	// removed).
	Prepare(s *Session, r *http.Request) error
	// Outcome completes the result of a response from the start of its body
	// (whole when complete): Tag, Error, RowCount, HTTP.Kind, and HTTP.Body,
	// what the recording keeps of it, secrets redacted. body is only valid
	// during the call.
	Outcome(cmd *session.Command, res *session.Result, body []byte, complete bool)
	// Error answers the client in the protocol's native error form.
	Error(w http.ResponseWriter, code int, reason, msg string)
}

// Upgrader is a Dialect that terminates some upgraded connections itself
// (kube's exec, attach and port-forward streams) to record what flows.
type Upgrader interface {
	// Upgrade handles r, whose command cmd is recorded, and reports true, or
	// reports false to let the proxy relay it as opaque bytes.
	Upgrade(w http.ResponseWriter, r *http.Request, s *Session, cmd uint64) bool
}

// Proxy is the recorded reverse proxy: authenticate, record the command,
// forward, stream the response back, record the result.
type Proxy struct {
	ep       *broker.Endpoint
	d        Dialect
	rp       *httputil.ReverseProxy
	sessions *registry
	maxBody  int
	redact   map[string]bool
}

// Config is what a protocol gives NewProxy.
type Config struct {
	// Target is the upstream's base URL.
	Target *url.URL
	// Transport reaches the upstream.
	Transport http.RoundTripper
	// UpgradeTransport, when set, carries requests that upgrade the
	// connection (WebSocket, SPDY): they need HTTP/1.1 where Transport may
	// speak HTTP/2.
	UpgradeTransport http.RoundTripper
	// MaxBody caps the bytes of each body kept in the recording.
	MaxBody int
	// Redact names more headers whose values are never recorded.
	Redact []string
}

// NewProxy returns the proxy of ep's connection, specialised by d.
func NewProxy(ep *broker.Endpoint, d Dialect, cfg Config) *Proxy {
	p := &Proxy{ep: ep, d: d, sessions: newRegistry(ep), maxBody: cfg.MaxBody, redact: redactSet(cfg.Redact)}
	p.rp = &httputil.ReverseProxy{
		Rewrite: func(pr *httputil.ProxyRequest) {
			pr.SetURL(cfg.Target)
			pr.Out.Host = cfg.Target.Host
		},
		Transport: splitTransport{cfg.Transport, cfg.UpgradeTransport},
		// Streams (chunked: watch, logs -f; text/event-stream) are flushed
		// on every write by the reverse proxy itself; bodies of a known
		// length are flushed when copied.
		FlushInterval:  0,
		BufferPool:     bufferPool{},
		ModifyResponse: p.modifyResponse,
		ErrorHandler:   p.upstreamError,
		ErrorLog:       log.New(io.Discard, "", 0),
	}
	return p
}

// Endpoint is the proxy's broker endpoint.
func (p *Proxy) Endpoint() *broker.Endpoint { return p.ep }

// ServeHTTP serves one client request.
func (p *Proxy) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	token, ok := bearer(r.Header)
	if !ok {
		p.d.Error(w, http.StatusUnauthorized, "Unauthorized", "a bearer token is required (Authorization: Bearer <token>)")
		return
	}
	meta := map[string]string{}
	if ua := r.UserAgent(); ua != "" {
		meta["user_agent"] = ua
	}
	if kc := r.Header.Get("Kubectl-Command"); kc != "" {
		meta["kubectl_command"] = kc // which kubectl verb opened the session
	}
	s, err := p.sessions.acquire(r.Context(), connID(r.Context()), remoteAddr(r), token, p.d.Group(r), meta)
	if err != nil {
		p.Fail(w, err)
		return
	}
	var x *exchange
	handedOff := false // the result's recording releases the session
	defer func() {
		if !handedOff {
			// Also when the reverse proxy aborts a response cut short
			// (it panics with http.ErrAbortHandler): record what came.
			if x != nil {
				x.record()
			}
			p.sessions.release(s)
		}
	}()

	cmd, complete, err := p.command(r)
	if err != nil {
		p.d.Error(w, http.StatusBadRequest, "BadRequest", "reading the request body: "+err.Error())
		return
	}
	if h := p.d.Reserved(r.Header); h != "" {
		cmd.TouchesIdentity = true
	}
	p.d.Describe(r, cmd, complete)
	seq, err := s.Command(cmd)
	if err != nil {
		p.Fail(w, err)
		return
	}
	r.Header.Del("Authorization")
	r.Header.Del("Accept-Encoding") // recorded bodies stay readable; the transport compresses on the upstream leg
	if err := p.d.Prepare(s, r); err != nil {
		p.record(s, seq, cmd, &session.Result{Error: &session.Error{Code: "500", Message: err.Error()}}, nil)
		p.d.Error(w, http.StatusInternalServerError, "InternalError", "preparing the upstream request: "+err.Error())
		return
	}
	if u, ok := p.d.(Upgrader); ok && isUpgrade(r) && u.Upgrade(w, r, s, seq) {
		return
	}
	x = &exchange{p: p, s: s, seq: seq, cmd: cmd, start: time.Now(), closed: make(chan struct{})}
	p.rp.ServeHTTP(w, r.WithContext(withExchange(r.Context(), x)))
	x.wait()
	// The response is complete for the client once ServeHTTP returns (HTTP/2
	// ends the stream then): the result is recorded after that, off the
	// request's path, and the session is held until it is.
	handedOff = true
	go func() {
		x.record()
		p.sessions.release(s)
	}()
}

// Fail answers a request the broker refused or could not record, natively.
func (p *Proxy) Fail(w http.ResponseWriter, err error) {
	var (
		ae *broker.AuthError
		de *broker.DeniedError
		se *session.StoreError
	)
	switch {
	case errors.As(err, &ae):
		p.d.Error(w, http.StatusUnauthorized, "Unauthorized", ae.Error())
	case errors.As(err, &de):
		p.d.Error(w, http.StatusForbidden, "Forbidden", de.Message)
	case errors.As(err, &se):
		p.d.Error(w, http.StatusServiceUnavailable, "ServiceUnavailable", "the broker cannot record this request, so it was not forwarded")
	default:
		p.d.Error(w, http.StatusServiceUnavailable, "ServiceUnavailable", "the broker cannot serve this request: "+err.Error())
	}
}

// command builds the command of r, capturing the start of its body; r.Body
// still yields the whole body afterwards.
func (p *Proxy) command(r *http.Request) (*session.Command, bool, error) {
	hr := &session.HTTPRequest{
		Method: r.Method,
		Path:   r.URL.EscapedPath(),
		Query:  r.URL.RawQuery,
		Header: p.redactHeader(r.Header),
	}
	complete := true
	if r.Body != nil && r.Body != http.NoBody && r.ContentLength != 0 {
		read, err := io.ReadAll(io.LimitReader(r.Body, int64(p.maxBody)+1))
		if err != nil {
			return nil, false, err
		}
		kept := read
		if len(read) > p.maxBody {
			complete = false
			kept = read[:p.maxBody]
			hr.BodyTruncated = true
		}
		hr.Body = string(kept)
		hr.BodyBytes = int64(len(read))
		if r.ContentLength > 0 {
			hr.BodyBytes = r.ContentLength
		}
		r.Body = &prefixed{Reader: io.MultiReader(bytes.NewReader(read), r.Body), Closer: r.Body}
	}
	text := r.Method + " " + hr.Path
	if hr.Query != "" {
		text += "?" + hr.Query
	}
	return &session.Command{Type: "http", Text: text, HTTP: hr}, complete, nil
}

type prefixed struct {
	io.Reader
	io.Closer
}

// record appends a result for command seq, with what the dialect makes of
// the captured body.
func (p *Proxy) record(s *Session, seq uint64, cmd *session.Command, res *session.Result, body []byte) {
	res.Command = seq
	if res.HTTP != nil {
		p.d.Outcome(cmd, res, body, !res.HTTP.BodyTruncated)
	}
	// A failure here fails the session closed: its next command is refused.
	_ = s.Result(res)
}

func bearer(h http.Header) (string, bool) {
	v := h.Get("Authorization")
	scheme, tok, ok := strings.Cut(v, " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") {
		return "", false
	}
	tok = strings.TrimSpace(tok)
	return tok, tok != ""
}

func remoteAddr(r *http.Request) net.Addr {
	ap, err := netip.ParseAddrPort(r.RemoteAddr)
	if err != nil {
		return nil
	}
	return net.TCPAddrFromAddrPort(ap)
}

func isUpgrade(r *http.Request) bool {
	return r.Header.Get("Upgrade") != "" && headerHasToken(r.Header, "Connection", "upgrade")
}

func headerHasToken(h http.Header, name, token string) bool {
	for _, v := range h.Values(name) {
		for t := range strings.SplitSeq(v, ",") {
			if strings.EqualFold(strings.TrimSpace(t), token) {
				return true
			}
		}
	}
	return false
}

// statusTag is "200 OK".
func statusTag(code int) string { return fmt.Sprintf("%d %s", code, http.StatusText(code)) }

// splitTransport sends upgrade requests over their own transport.
type splitTransport struct{ normal, upgrade http.RoundTripper }

func (t splitTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	if t.upgrade != nil && isUpgrade(r) {
		return t.upgrade.RoundTrip(r)
	}
	return t.normal.RoundTrip(r)
}

// bufferPool recycles the reverse proxy's copy buffers.
type bufferPool struct{}

var copyBuffers = sync.Pool{New: func() any { return new([32 << 10]byte) }}

func (bufferPool) Get() []byte { return copyBuffers.Get().(*[32 << 10]byte)[:] }
func (bufferPool) Put(b []byte) {
	if cap(b) == 32<<10 {
		copyBuffers.Put((*[32 << 10]byte)(b[:32<<10]))
	}
}
