package admin

import (
	"net/http"

	"github.com/hoophq/hoop/broker"
	"github.com/hoophq/hoop/session"
)

// Key is a public key of the broker: it verifies seals and broker tokens.
type Key struct {
	// ID is how seals name the key (session.KeyID).
	ID string `json:"id"`
	// PEM is the PKIX PEM encoding (what broker.pub holds).
	PEM string `json:"pem"`
}

// KeysResponse is the body of GET /v1/keys; the current key comes first.
type KeysResponse struct {
	Keys []Key `json:"keys"`
}

// GET /v1/keys
func (s *Server) keys(w http.ResponseWriter, r *http.Request) {
	out := KeysResponse{Keys: []Key{}}
	for _, k := range s.cfg.Keys {
		out.Keys = append(out.Keys, Key{ID: session.KeyID(k), PEM: string(broker.MarshalPublicKey(k))})
	}
	writeJSON(w, http.StatusOK, out)
}
