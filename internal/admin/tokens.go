package admin

import (
	"encoding/json"
	"fmt"
	"net/http"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/hoophq/hoop/broker"
	"github.com/hoophq/hoop/session"
)

// TokenRequest is the body of POST /v1/tokens.
type TokenRequest struct {
	User   string   `json:"user"`
	Groups []string `json:"groups,omitempty"`
	// TTL is a Go duration ("15m", "1h").
	TTL string `json:"ttl"`
	// Actors, nearest agent first, become the token's act claim.
	Actors []session.Actor `json:"actors,omitempty"`
	// Parent names the session inside which the token is minted.
	Parent string `json:"parent,omitempty"`
}

// TokenResponse is the answer to POST /v1/tokens.
type TokenResponse struct {
	Token     string    `json:"token"`
	ExpiresAt time.Time `json:"expires_at"`
}

// maxTokenRequest bounds the body of POST /v1/tokens.
const maxTokenRequest = 64 << 10

// POST /v1/tokens
func (s *Server) token(w http.ResponseWriter, r *http.Request) {
	if s.cfg.Issuer == nil {
		writeError(w, http.StatusNotImplemented, "this server does not issue tokens")
		return
	}
	var req TokenRequest
	dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, maxTokenRequest))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&req); err != nil {
		writeError(w, http.StatusBadRequest, "token request: "+err.Error())
		return
	}
	resp, err := Issue(s.cfg.Issuer, req)
	if err != nil {
		writeError(w, http.StatusBadRequest, err.Error())
		return
	}
	s.log.Info("token issued", "user", req.User, "groups", req.Groups, "ttl", req.TTL, "actors", len(req.Actors), "expires", resp.ExpiresAt)
	writeJSON(w, http.StatusOK, resp)
}

// Issue signs the token req asks for. hoopctl token issue --offline calls it
// with the data dir's key; the API with the running broker's.
func Issue(iss Issuer, req TokenRequest) (*TokenResponse, error) {
	ttl, err := time.ParseDuration(req.TTL)
	if err != nil {
		return nil, fmt.Errorf("ttl: want a duration such as 15m or 1h, got %q", req.TTL)
	}
	tok, err := iss.Issue(broker.TokenRequest{User: req.User, Groups: req.Groups, TTL: ttl, Actors: req.Actors, Parent: req.Parent})
	if err != nil {
		return nil, err
	}
	// The expiry is read back from the token so it is exactly what was signed.
	var c jwt.RegisteredClaims
	if _, _, err := jwt.NewParser().ParseUnverified(tok, &c); err != nil || c.ExpiresAt == nil {
		return nil, fmt.Errorf("issued token unreadable: %v", err)
	}
	return &TokenResponse{Token: tok, ExpiresAt: c.ExpiresAt.UTC()}, nil
}
