package admin

import (
	"bufio"
	"bytes"
	"context"
	"crypto/ed25519"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/hoophq/hoop/broker"
	"github.com/hoophq/hoop/session"
	"github.com/hoophq/hoop/store"
)

// Client calls the admin API.
type Client struct {
	// URL is the API's base URL, e.g. http://127.0.0.1:8009.
	URL string
	// Token is the admin token sent as a bearer token.
	Token string
	// HTTP is the client used; nil means http.DefaultClient.
	HTTP *http.Client
}

// Error is an error answer of the API.
type Error struct {
	Status  int
	Message string
}

func (e *Error) Error() string {
	return fmt.Sprintf("admin API: %d %s: %s", e.Status, http.StatusText(e.Status), e.Message)
}

// Is makes a 404 match store.ErrNotFound.
func (e *Error) Is(target error) bool {
	return target == store.ErrNotFound && e.Status == http.StatusNotFound
}

// UnreachableError is returned when nothing answers at the API's address.
type UnreachableError struct {
	URL string
	Err error
}

func (e *UnreachableError) Error() string {
	return fmt.Sprintf("cannot reach the admin API at %s (is the broker running? see --server, --config, or --store for a stopped broker): %v", e.URL, e.Err)
}

func (e *UnreachableError) Unwrap() error { return e.Err }

func (c *Client) do(ctx context.Context, method, path string, q url.Values, body any) (*http.Response, error) {
	u := strings.TrimRight(c.URL, "/") + path
	if len(q) > 0 {
		u += "?" + q.Encode()
	}
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return nil, err
		}
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, u, rd)
	if err != nil {
		return nil, err
	}
	if c.Token != "" {
		req.Header.Set("Authorization", "Bearer "+c.Token)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	hc := c.HTTP
	if hc == nil {
		hc = http.DefaultClient
	}
	resp, err := hc.Do(req)
	if err != nil {
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		return nil, &UnreachableError{URL: c.URL, Err: unwrapURLError(err)}
	}
	if resp.StatusCode/100 != 2 {
		defer resp.Body.Close()
		b, _ := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
		var eb errorBody
		if json.Unmarshal(b, &eb) != nil || eb.Error == "" {
			eb.Error = strings.TrimSpace(string(b))
		}
		return nil, &Error{Status: resp.StatusCode, Message: eb.Error}
	}
	return resp, nil
}

func unwrapURLError(err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		return ue.Err
	}
	return err
}

func (c *Client) getJSON(ctx context.Context, path string, q url.Values, out any) error {
	resp, err := c.do(ctx, http.MethodGet, path, q, nil)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if err := json.NewDecoder(resp.Body).Decode(out); err != nil {
		return fmt.Errorf("admin API %s: %w", path, err)
	}
	return nil
}

// Sessions lists the sessions f selects, newest first.
func (c *Client) Sessions(ctx context.Context, f Filter) ([]session.Info, error) {
	var out []session.Info
	err := c.getJSON(ctx, "/v1/sessions", f.Values(), &out)
	return out, err
}

// Session returns one session's index entry.
func (c *Client) Session(ctx context.Context, id string) (session.Info, error) {
	var out session.Info
	err := c.getJSON(ctx, "/v1/sessions/"+url.PathEscape(id), nil, &out)
	return out, err
}

// maxLine bounds one line of the records stream: a record (results are capped
// by the connection's recording.max_bytes) in base64.
const maxLine = 256 << 20

// Records calls fn with each stored record of session id after seq after, in
// order. With follow it goes on as the broker records, until session.end (or
// the session ends unsealed) or ctx is done. data is only valid during the
// call.
func (c *Client) Records(ctx context.Context, id string, after uint64, follow bool, fn func(seq uint64, data []byte) error) error {
	q := url.Values{"after": {strconv.FormatUint(after, 10)}}
	if follow {
		q.Set("follow", "1")
	}
	resp, err := c.do(ctx, http.MethodGet, "/v1/sessions/"+url.PathEscape(id)+"/records", q, nil)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(make([]byte, 0, 64<<10), maxLine)
	for sc.Scan() {
		var line RecordLine
		if err := json.Unmarshal(sc.Bytes(), &line); err != nil {
			return fmt.Errorf("admin API: records of %s: %w", id, err)
		}
		if line.Error != "" {
			return fmt.Errorf("admin API: records of %s: %s", id, line.Error)
		}
		if err := fn(line.Seq, line.Data); err != nil {
			return err
		}
	}
	if err := sc.Err(); err != nil {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		return fmt.Errorf("admin API: records of %s: %w", id, err)
	}
	return nil
}

// Keys returns the broker's public keys, current first.
func (c *Client) Keys(ctx context.Context) ([]ed25519.PublicKey, error) {
	var out KeysResponse
	if err := c.getJSON(ctx, "/v1/keys", nil, &out); err != nil {
		return nil, err
	}
	keys := make([]ed25519.PublicKey, 0, len(out.Keys))
	for _, k := range out.Keys {
		pk, err := broker.ParsePublicKey([]byte(k.PEM))
		if err != nil {
			return nil, fmt.Errorf("admin API: key %s: %w", k.ID, err)
		}
		keys = append(keys, pk)
	}
	return keys, nil
}

// IssueToken asks the broker to sign a token.
func (c *Client) IssueToken(ctx context.Context, req TokenRequest) (*TokenResponse, error) {
	resp, err := c.do(ctx, http.MethodPost, "/v1/tokens", nil, &req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	var out TokenResponse
	if err := json.NewDecoder(resp.Body).Decode(&out); err != nil {
		return nil, fmt.Errorf("admin API /v1/tokens: %w", err)
	}
	return &out, nil
}
