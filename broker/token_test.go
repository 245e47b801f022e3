package broker

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/rsa"
	"encoding/base64"
	"encoding/json"
	"errors"
	"math/big"
	"net/http"
	"net/http/httptest"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/hoophq/hoop/config"
	"github.com/hoophq/hoop/session"
)

func newAuth(t *testing.T, providers ...*config.Provider) *Authenticator {
	t.Helper()
	_, key, _ := ed25519.GenerateKey(nil)
	return NewAuthenticator(&config.Identity{Issuer: "hoop", MaxTokenTTL: config.Duration(24 * time.Hour), Providers: providers}, key)
}

func TestOwnTokens(t *testing.T) {
	a := newAuth(t)
	ctx := context.Background()
	tok, err := a.Issue(TokenRequest{User: "alice", Groups: []string{"dba", "eng"}, TTL: time.Hour,
		Actors: []session.Actor{{Subject: "agent-b"}, {Subject: "agent-a"}}, Parent: "sess-1"})
	if err != nil {
		t.Fatal(err)
	}
	id, err := a.Authenticate(ctx, tok)
	if err != nil {
		t.Fatal(err)
	}
	if id.User() != "alice" || !reflect.DeepEqual(id.Principal.Groups, []string{"dba", "eng"}) || id.Parent != "sess-1" {
		t.Errorf("got %+v", id)
	}
	if want := []session.Actor{{Subject: "agent-b"}, {Subject: "agent-a"}}; !reflect.DeepEqual(id.Actors, want) {
		t.Errorf("actors = %+v; want %+v (nearest first)", id.Actors, want)
	}

	if _, err := a.Issue(TokenRequest{User: "alice", TTL: 48 * time.Hour}); err == nil {
		t.Error("a ttl over max_token_ttl was issued")
	}

	a.now = func() time.Time { return time.Now().Add(2 * time.Hour) }
	assertAuthError(t, a, tok, "token expired")
	a.now = time.Now

	other := newAuth(t)
	forged, _ := other.Issue(TokenRequest{User: "mallory", Groups: []string{"dba"}, TTL: time.Hour})
	assertAuthError(t, a, forged, "token signature invalid")
	assertAuthError(t, a, "hunter2", "not a token")
	assertAuthError(t, a, "", "no token")

	hs, _ := jwt.NewWithClaims(jwt.SigningMethodHS256, jwt.MapClaims{"iss": "hoop", "sub": "x", "aud": "hoop", "exp": time.Now().Add(time.Hour).Unix()}).SignedString([]byte("k"))
	assertAuthError(t, a, hs, "token signature invalid")

	unknown, _ := jwt.NewWithClaims(jwt.SigningMethodHS256, jwt.MapClaims{"iss": "https://evil"}).SignedString([]byte("k"))
	assertAuthError(t, a, unknown, `issuer "https://evil" is not trusted`)
}

func assertAuthError(t *testing.T, a *Authenticator, tok, want string) {
	t.Helper()
	_, err := a.Authenticate(context.Background(), tok)
	var ae *AuthError
	if !errors.As(err, &ae) || !strings.Contains(ae.Error(), want) {
		t.Fatalf("got %v; want an AuthError containing %q", err, want)
	}
	if tok != "" && strings.Contains(err.Error(), tok) {
		t.Fatalf("the error contains the token")
	}
}

// idp is a minimal OIDC provider: discovery and JWKS, signing RS256.
type idp struct {
	*httptest.Server
	key *rsa.PrivateKey
}

func newIDP(t *testing.T) *idp {
	key, _ := rsa.GenerateKey(rand.Reader, 2048)
	p := &idp{key: key}
	mux := http.NewServeMux()
	mux.HandleFunc("/.well-known/openid-configuration", func(w http.ResponseWriter, r *http.Request) {
		json.NewEncoder(w).Encode(map[string]any{
			"issuer": p.URL, "jwks_uri": p.URL + "/jwks", "authorization_endpoint": p.URL + "/auth",
			"token_endpoint": p.URL + "/token", "id_token_signing_alg_values_supported": []string{"RS256"},
		})
	})
	mux.HandleFunc("/jwks", func(w http.ResponseWriter, r *http.Request) {
		b64 := base64.RawURLEncoding.EncodeToString
		json.NewEncoder(w).Encode(map[string]any{"keys": []any{map[string]any{
			"kty": "RSA", "kid": "k1", "alg": "RS256", "use": "sig",
			"n": b64(key.N.Bytes()), "e": b64(big.NewInt(int64(key.E)).Bytes()),
		}}})
	})
	p.Server = httptest.NewServer(mux)
	t.Cleanup(p.Close)
	return p
}

func (p *idp) token(claims jwt.MapClaims) string {
	tk := jwt.NewWithClaims(jwt.SigningMethodRS256, claims)
	tk.Header["kid"] = "k1"
	s, _ := tk.SignedString(p.key)
	return s
}

func TestOIDC(t *testing.T) {
	p := newIDP(t)
	a := newAuth(t, &config.Provider{Name: "corp", Issuer: p.URL, Audience: "hoop-broker", GroupsClaim: "realm.roles", UsernameClaim: "preferred_username"})
	now := time.Now()
	tok := p.token(jwt.MapClaims{
		"iss": p.URL, "aud": "hoop-broker", "sub": "u-123", "exp": now.Add(time.Hour).Unix(), "iat": now.Unix(),
		"email": "bob@example.com", "preferred_username": "bob", "realm": map[string]any{"roles": []any{"dba"}},
		"act": map[string]any{"sub": "agent-2", "act": map[string]any{"sub": "agent-1"}},
	})
	id, err := a.Authenticate(context.Background(), tok)
	if err != nil {
		t.Fatal(err)
	}
	if id.User() != "bob" || id.Principal.Email != "bob@example.com" || id.Principal.Subject != "u-123" ||
		!reflect.DeepEqual(id.Principal.Groups, []string{"dba"}) || id.Provider != "corp" {
		t.Errorf("got %+v", id)
	}
	if want := []session.Actor{{Subject: "agent-2"}, {Subject: "agent-1"}}; !reflect.DeepEqual(id.Actors, want) {
		t.Errorf("actors = %+v; want %+v", id.Actors, want)
	}

	wrongAud := p.token(jwt.MapClaims{"iss": p.URL, "aud": "other", "sub": "u", "exp": now.Add(time.Hour).Unix()})
	assertAuthError(t, a, wrongAud, "rejected by provider corp")
	expired := p.token(jwt.MapClaims{"iss": p.URL, "aud": "hoop-broker", "sub": "u", "exp": now.Add(-time.Hour).Unix()})
	assertAuthError(t, a, expired, "token expired")
}
