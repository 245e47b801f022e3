package kube

import (
	"io"
	"net/http"
	"sync"

	"k8s.io/streaming/pkg/httpstream"
	streamspdy "k8s.io/streaming/pkg/httpstream/spdy"

	hoophttp "github.com/hoophq/hoop/protocols/http"
)

// headerProtocol negotiates the sub-protocol of a SPDY stream connection.
const headerProtocol = "X-Stream-Protocol-Version"

// relaySPDY terminates an exec or attach SPDY/3.1 connection on both sides:
// it upgrades to the API server with the client's protocol versions, answers
// the client with the one chosen, and mirrors every stream the client
// creates, recording what flows on each by its streamType.
func (d *dialect) relaySPDY(w http.ResponseWriter, r *http.Request, s *hoophttp.Session, seq uint64) {
	rt, err := streamspdy.NewRoundTripperWithConfig(streamspdy.RoundTripperConfig{TLS: d.tls.Clone()})
	if err != nil {
		d.refused(w, s, seq, nil, err)
		return
	}
	req, err := http.NewRequestWithContext(r.Context(), r.Method, d.upstreamURL("https", r), nil)
	if err != nil {
		d.refused(w, s, seq, nil, err)
		return
	}
	req.Header = upstreamHeader(r.Header, false)
	resp, err := rt.RoundTrip(req)
	if err != nil {
		d.refused(w, s, seq, nil, err)
		return
	}
	if resp.StatusCode != http.StatusSwitchingProtocols {
		d.refused(w, s, seq, resp, nil)
		return
	}
	up, err := rt.NewConnection(resp)
	if err != nil {
		d.refused(w, s, seq, nil, err)
		return
	}
	defer up.Close()

	t := newTerminal(s, seq)
	var down sync.WaitGroup // upstream-to-client copies
	var all sync.WaitGroup
	w.Header().Set(headerProtocol, resp.Header.Get(headerProtocol))
	// The upgrader sees only the handshake: its errors quote the request's
	// header, which now holds the broker's own credential.
	hs := r.Clone(r.Context())
	hs.Header = http.Header{"Connection": r.Header.Values("Connection"), "Upgrade": r.Header.Values("Upgrade")}
	cl := streamspdy.NewResponseUpgrader().UpgradeResponse(w, hs, func(cs httpstream.Stream, replySent <-chan struct{}) error {
		us, err := up.CreateStream(cs.Headers())
		if err != nil {
			return err
		}
		ch, known := streamChannel[cs.Headers().Get("streamType")]
		if !known {
			ch = 0xfe // relayed, not recorded
		}
		all.Add(2)
		down.Add(1)
		go func() {
			defer all.Done()
			copyRecorded(us, cs, func(b []byte) error { return t.fromClient(ch, b) })
			us.Close() // half-close: the client is done sending on it
		}()
		go func() {
			defer all.Done()
			defer down.Done()
			<-replySent
			copyRecorded(cs, us, func(b []byte) error { t.fromUpstream(ch, b); return nil })
			cs.Close()
		}()
		return nil
	})
	if cl == nil {
		// UpgradeResponse answered the client.
		t.finish(io.ErrUnexpectedEOF)
		return
	}
	defer cl.Close()
	select {
	case <-up.CloseChan():
		// The command ended: let what the API server sent reach the client.
		down.Wait()
	case <-cl.CloseChan():
	case <-r.Context().Done():
	}
	cl.Close()
	up.Close()
	all.Wait()
	t.finish(nil)
}

// copyRecorded copies src to dst, handing each chunk to record first; a
// chunk that could not be recorded is not copied.
func copyRecorded(dst io.Writer, src io.Reader, record func([]byte) error) {
	buf := make([]byte, 32<<10)
	for {
		n, err := src.Read(buf)
		if n > 0 {
			if record(buf[:n]) != nil {
				return
			}
			if _, werr := dst.Write(buf[:n]); werr != nil {
				return
			}
		}
		if err != nil {
			return
		}
	}
}
