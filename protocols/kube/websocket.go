package kube

import (
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"

	"github.com/gorilla/websocket"

	hoophttp "github.com/hoophq/hoop/protocols/http"
	"github.com/hoophq/hoop/session"
)

// errFrame is a WebSocket message that does not follow its channel protocol.
var errFrame = errors.New("malformed channel message")

// decodeFrame splits a message of a remote command channel protocol
// (v5.channel.k8s.io and earlier: the first byte is the channel; the
// base64.channel.k8s.io family: an ASCII digit, then base64) into its channel
// and data.
func decodeFrame(protocol string, mt int, msg []byte) (ch byte, data []byte, err error) {
	if len(msg) == 0 {
		return 0, nil, errFrame
	}
	if strings.HasPrefix(protocol, "base64.") {
		if mt != websocket.TextMessage || msg[0] < '0' || msg[0] > '9' {
			return 0, nil, errFrame
		}
		data, err := base64.StdEncoding.DecodeString(string(msg[1:]))
		if err != nil {
			return 0, nil, errFrame
		}
		return msg[0] - '0', data, nil
	}
	return msg[0], msg[1:], nil
}

// relayWebSocket terminates an exec or attach WebSocket on both sides: it
// dials the API server with the client's subprotocols, answers the client with
// the one chosen, and relays message by message, recording each.
func (d *dialect) relayWebSocket(w http.ResponseWriter, r *http.Request, s *hoophttp.Session, seq uint64) {
	dialer := websocket.Dialer{
		TLSClientConfig:  d.tls.Clone(),
		Subprotocols:     websocket.Subprotocols(r),
		HandshakeTimeout: 30 * time.Second,
		NetDialContext:   d.dial,
	}
	up, resp, err := dialer.DialContext(r.Context(), d.upstreamURL("wss", r), upstreamHeader(r.Header, true))
	if err != nil {
		d.refused(w, s, seq, resp, err)
		return
	}
	defer up.Close()
	proto := up.Subprotocol()
	upgrader := websocket.Upgrader{
		Subprotocols: []string{proto},
		// The bearer token authenticates; browsers' ambient credentials are never used.
		CheckOrigin: func(*http.Request) bool { return true },
	}
	cl, err := upgrader.Upgrade(w, r, nil)
	if err != nil {
		_ = s.Result(&session.Result{Command: seq, Error: &session.Error{Code: "400", Message: "websocket upgrade: " + err.Error()}})
		return
	}
	defer cl.Close()
	t := newTerminal(s, seq)
	errc := make(chan error, 2)
	go func() { errc <- pumpWS(cl, up, proto, t, true) }()
	go func() { errc <- pumpWS(up, cl, proto, t, false) }()
	var cause error
	select {
	case cause = <-errc:
	case <-r.Context().Done():
		cause = r.Context().Err()
	}
	cl.Close()
	up.Close()
	<-errc
	if ce, ok := cause.(*websocket.CloseError); ok && ce.Code == websocket.CloseNormalClosure {
		cause = nil
	}
	t.finish(cause)
}

// pumpWS relays the messages of src to dst, recording them, until src ends;
// its close frame is passed on.
func pumpWS(src, dst *websocket.Conn, proto string, t *terminal, fromClient bool) error {
	for {
		mt, msg, err := src.ReadMessage()
		if err != nil {
			var ce *websocket.CloseError
			if errors.As(err, &ce) {
				_ = dst.WriteControl(websocket.CloseMessage, websocket.FormatCloseMessage(ce.Code, ce.Text), time.Now().Add(5*time.Second))
			}
			return err
		}
		if ch, data, ferr := decodeFrame(proto, mt, msg); ferr == nil {
			if fromClient {
				if err := t.fromClient(ch, data); err != nil {
					// Not recorded, so not forwarded: end the stream.
					_ = dst.WriteControl(websocket.CloseMessage, websocket.FormatCloseMessage(websocket.CloseInternalServerErr, "recording failed"), time.Now().Add(5*time.Second))
					return err
				}
			} else {
				t.fromUpstream(ch, data)
			}
		}
		if err := dst.WriteMessage(mt, msg); err != nil {
			return err
		}
	}
}

// refused answers the client when the API server did not upgrade: its own
// answer (a Status, e.g. Forbidden) when there is one.
func (d *dialect) refused(w http.ResponseWriter, s *hoophttp.Session, seq uint64, resp *http.Response, err error) {
	if resp == nil {
		msg := "the API server did not answer: " + err.Error()
		_ = s.Result(&session.Result{Command: seq, Error: &session.Error{Code: "502", Message: msg}})
		writeStatus(w, http.StatusBadGateway, "BadGateway", msg)
		return
	}
	var body []byte
	if resp.Body != nil {
		body, _ = io.ReadAll(io.LimitReader(resp.Body, 1<<20))
		resp.Body.Close()
	}
	info := inspect(body, false)
	msg := info.message
	if msg == "" {
		msg = fmt.Sprintf("upgrade refused: %s", resp.Status)
	}
	_ = s.Result(&session.Result{Command: seq, Tag: fmt.Sprintf("%d %s", resp.StatusCode, info.kind),
		HTTP:  &session.HTTPResponse{Status: resp.StatusCode, Kind: info.kind, BodyBytes: int64(len(body))},
		Error: &session.Error{Code: fmt.Sprint(resp.StatusCode), Message: msg, Detail: info.reason}})
	for _, k := range []string{"Content-Type", "Cache-Control", "X-Content-Type-Options"} {
		if v := resp.Header.Get(k); v != "" {
			w.Header().Set(k, v)
		}
	}
	w.WriteHeader(resp.StatusCode)
	w.Write(body)
}

// upstreamHeader is the client's header for the upstream request of a
// stream, without hop-by-hop and handshake fields (the dialer sets its own).
func upstreamHeader(h http.Header, ws bool) http.Header {
	out := h.Clone()
	for _, k := range []string{"Connection", "Upgrade", "Keep-Alive", "Proxy-Connection", "Te", "Trailer", "Transfer-Encoding", "Host", "Content-Length"} {
		out.Del(k)
	}
	if ws {
		for k := range out {
			if strings.HasPrefix(k, "Sec-Websocket-") {
				out.Del(k)
			}
		}
	}
	return out
}
