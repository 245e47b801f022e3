package http

import (
	"context"
	"errors"
	"io"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"github.com/hoophq/hoop/session"
)

// exchange is one forwarded request, waiting for its response to be relayed
// so that its result can be recorded.
type exchange struct {
	p     *Proxy
	s     *Session
	seq   uint64
	cmd   *session.Command
	start time.Time
	once  sync.Once

	// upgraded is set for a switched protocol; closed is closed when its
	// relay is over. The reverse proxy closes the upstream side after
	// ServeHTTP returns, so ServeHTTP waits for it to record the result
	// inside the session.
	upgraded atomic.Bool
	closed   chan struct{}
	up       *upgraded

	res  *session.Result // set by finish, under once
	body []byte          // the start of the response body, for Outcome
}

// wait returns once an upgraded connection's relay has been recorded.
func (x *exchange) wait() {
	if x.upgraded.Load() {
		<-x.closed
	}
}

type exchangeKey struct{}

func withExchange(ctx context.Context, x *exchange) context.Context {
	return context.WithValue(ctx, exchangeKey{}, x)
}

func exchangeOf(ctx context.Context) *exchange {
	x, _ := ctx.Value(exchangeKey{}).(*exchange)
	return x
}

// finish records the result once.
// finish sets the result once, with the start of the body; record appends
// it.
func (x *exchange) finish(res *session.Result, body []byte) {
	x.once.Do(func() {
		res.Duration = time.Since(x.start)
		x.res, x.body = res, body
	})
}

// record appends the result, if the response produced one.
func (x *exchange) record() {
	x.once.Do(func() {}) // no result can be set after this
	if x.res != nil {
		x.p.record(x.s, x.seq, x.cmd, x.res, x.body)
	}
}

// modifyResponse wraps the response body so that the result is recorded when
// it has been relayed: the body itself flows through untouched.
func (p *Proxy) modifyResponse(resp *http.Response) error {
	x := exchangeOf(resp.Request.Context())
	if x == nil {
		return nil
	}
	hr := &session.HTTPResponse{Status: resp.StatusCode, Header: p.redactHeader(resp.Header)}
	if resp.StatusCode == http.StatusSwitchingProtocols {
		rwc, ok := resp.Body.(io.ReadWriteCloser)
		if !ok {
			return nil // the reverse proxy refuses it
		}
		hr.Upgrade = resp.Header.Get("Upgrade")
		x.up = &upgraded{ReadWriteCloser: rwc, x: x, hr: hr}
		x.upgraded.Store(true)
		resp.Body = x.up
		return nil
	}
	c := &captured{ReadCloser: resp.Body, x: x, hr: hr, max: p.maxBody}
	if resp.ContentLength > 0 {
		c.buf = make([]byte, 0, min(resp.ContentLength, int64(p.maxBody)))
	}
	resp.Body = c
	return nil
}

// upstreamError answers a request the upstream did not answer.
func (p *Proxy) upstreamError(w http.ResponseWriter, r *http.Request, err error) {
	x := exchangeOf(r.Context())
	msg := "the upstream did not answer: " + err.Error()
	if errors.Is(err, context.Canceled) {
		msg = "the client went away"
	}
	if x != nil {
		x.finish(&session.Result{Error: &session.Error{Code: "502", Message: msg}}, nil)
		if x.upgraded.Load() {
			// The switch failed after the upstream's 101: nothing relays it.
			x.up.Close()
		}
	}
	if r.Context().Err() == nil {
		p.d.Error(w, http.StatusBadGateway, "BadGateway", msg)
	}
}

// captured relays a response body and keeps its start for the recording.
type captured struct {
	io.ReadCloser
	x    *exchange
	hr   *session.HTTPResponse
	max  int
	buf  []byte
	n    int64
	eof  bool
	done atomic.Bool
}

func (c *captured) Read(p []byte) (int, error) {
	n, err := c.ReadCloser.Read(p)
	c.n += int64(n)
	if room := c.max - len(c.buf); room > 0 && n > 0 {
		c.buf = append(c.buf, p[:min(n, room)]...)
	}
	if err == io.EOF {
		c.eof = true
		c.finish()
	}
	return n, err
}

func (c *captured) Close() error {
	err := c.ReadCloser.Close()
	c.finish()
	return err
}

func (c *captured) finish() {
	if c.done.Swap(true) {
		return
	}
	c.hr.BodyBytes = c.n
	c.hr.BodyTruncated = c.n > int64(len(c.buf)) || !c.eof
	res := &session.Result{HTTP: c.hr, Tag: statusTag(c.hr.Status)}
	if !c.eof {
		res.Error = &session.Error{Code: "aborted", Message: "the response was cut before its end"}
	}
	c.x.finish(res, c.buf)
}

// upgraded relays an upgraded connection (WebSocket) and counts its bytes.
type upgraded struct {
	io.ReadWriteCloser
	x       *exchange
	hr      *session.HTTPResponse
	in, out atomic.Int64 // bytes from the client, from the upstream
	done    atomic.Bool
}

func (u *upgraded) Read(p []byte) (int, error) {
	n, err := u.ReadWriteCloser.Read(p)
	u.out.Add(int64(n))
	return n, err
}

func (u *upgraded) Write(p []byte) (int, error) {
	n, err := u.ReadWriteCloser.Write(p)
	u.in.Add(int64(n))
	return n, err
}

func (u *upgraded) Close() error {
	err := u.ReadWriteCloser.Close()
	if !u.done.Swap(true) {
		u.hr.BytesIn, u.hr.BytesOut = u.in.Load(), u.out.Load()
		u.x.finish(&session.Result{HTTP: u.hr, Tag: statusTag(u.hr.Status) + " " + u.hr.Upgrade}, nil)
		close(u.x.closed)
	}
	return err
}
