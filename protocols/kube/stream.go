package kube

import (
	"context"
	"net"
	"net/http"
	"strings"

	hoophttp "github.com/hoophq/hoop/protocols/http"
)

// Upgrade takes over exec and attach streams, whose terminal is recorded;
// other upgrades (port-forward) are relayed as opaque bytes by the proxy.
func (d *dialect) Upgrade(w http.ResponseWriter, r *http.Request, s *hoophttp.Session, seq uint64) bool {
	ri := requestInfo(r.Method, r.URL)
	if ri.Resource != "pods" || (ri.Subresource != "exec" && ri.Subresource != "attach") {
		return false
	}
	switch up := strings.ToLower(r.Header.Get("Upgrade")); {
	case up == "websocket":
		d.relayWebSocket(w, r, s, seq)
	case up == "spdy/3.1":
		d.relaySPDY(w, r, s, seq)
	default:
		return false
	}
	return true
}

// upstreamURL is r's path and query on the API server.
func (d *dialect) upstreamURL(scheme string, r *http.Request) string {
	u := *d.target
	u.Scheme = scheme
	u.Path = r.URL.Path
	u.RawPath = r.URL.RawPath
	u.RawQuery = r.URL.RawQuery
	return u.String()
}

func (d *dialect) dial(ctx context.Context, network, addr string) (net.Conn, error) {
	return d.dialer.DialContext(ctx, network, addr)
}
