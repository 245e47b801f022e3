package broker

import (
	"context"
	"crypto/ed25519"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/coreos/go-oidc/v3/oidc"
	"github.com/golang-jwt/jwt/v5"
	"github.com/google/uuid"

	"github.com/hoophq/hoop/config"
	"github.com/hoophq/hoop/session"
)

// Audience is the "aud" of the broker's own tokens.
const Audience = "hoop"

// AuthError is a failed authentication. Its message is safe to show the client:
// it never contains the token.
type AuthError struct{ Reason string }

func (e *AuthError) Error() string { return "authentication failed: " + e.Reason }

// Act is an RFC 8693 actor claim: the current actor, and in Act the one that
// acted before it.
type Act struct {
	Subject string `json:"sub"`
	Issuer  string `json:"iss,omitempty"`
	Act     *Act   `json:"act,omitempty"`
}

// Claims are the claims of a broker-issued token.
type Claims struct {
	jwt.RegisteredClaims
	Name   string   `json:"name,omitempty"`
	Email  string   `json:"email,omitempty"`
	Groups []string `json:"groups,omitempty"`
	Act    *Act     `json:"act,omitempty"`
	// Parent is the session inside which the token was minted.
	Parent string `json:"hoop_parent_session,omitempty"`
}

// TokenRequest asks for a broker-issued token.
type TokenRequest struct {
	User   string        `json:"user"`
	Groups []string      `json:"groups"`
	TTL    time.Duration `json:"ttl"`
	// Actors, nearest first, become the nested act claim.
	Actors []session.Actor `json:"actors,omitempty"`
	Parent string          `json:"parent,omitempty"`
}

// Authenticator verifies tokens: the broker's own (EdDSA, its issuer) and those
// of configured OIDC providers.
type Authenticator struct {
	issuer    string
	key       ed25519.PrivateKey
	maxTTL    time.Duration
	providers []*provider
	now       func() time.Time
}

// NewAuthenticator builds the authenticator of cfg. OIDC discovery happens on
// first use, so a provider that is down doesn't stop the broker.
func NewAuthenticator(cfg *config.Identity, key ed25519.PrivateKey) *Authenticator {
	a := &Authenticator{issuer: cfg.Issuer, key: key, maxTTL: cfg.MaxTokenTTL.D(), now: time.Now}
	for _, p := range cfg.Providers {
		a.providers = append(a.providers, &provider{cfg: p})
	}
	return a
}

// Issue signs a token for req.
func (a *Authenticator) Issue(req TokenRequest) (string, error) {
	if req.User == "" {
		return "", errors.New("a user is required")
	}
	if req.TTL <= 0 {
		return "", errors.New("a positive ttl is required")
	}
	if a.maxTTL > 0 && req.TTL > a.maxTTL {
		return "", fmt.Errorf("ttl %s is over the broker's max_token_ttl %s", req.TTL, a.maxTTL)
	}
	now := a.now()
	c := Claims{
		RegisteredClaims: jwt.RegisteredClaims{
			Issuer:    a.issuer,
			Subject:   req.User,
			Audience:  jwt.ClaimStrings{Audience},
			IssuedAt:  jwt.NewNumericDate(now),
			NotBefore: jwt.NewNumericDate(now.Add(-time.Minute)),
			ExpiresAt: jwt.NewNumericDate(now.Add(req.TTL)),
			ID:        uuid.NewString(),
		},
		Groups: req.Groups,
		Act:    actClaim(req.Actors),
		Parent: req.Parent,
	}
	return jwt.NewWithClaims(jwt.SigningMethodEdDSA, c).SignedString(a.key)
}

func actClaim(actors []session.Actor) *Act {
	var act *Act
	for i := len(actors) - 1; i >= 0; i-- {
		act = &Act{Subject: actors[i].Subject, Issuer: actors[i].Issuer, Act: act}
	}
	return act
}

// actors flattens a nested act claim, nearest actor first. Depth is bounded.
func (act *Act) actors() []session.Actor {
	var out []session.Actor
	for a := act; a != nil && len(out) < 16; a = a.Act {
		out = append(out, session.Actor{Subject: a.Subject, Issuer: a.Issuer})
	}
	return out
}

// Authenticate verifies a token and returns the identity it carries. Errors are
// *AuthError with a reason fit for the client.
func (a *Authenticator) Authenticate(ctx context.Context, token string) (*Identity, error) {
	token = strings.TrimSpace(token)
	if token == "" {
		return nil, &AuthError{"no token (put the token where the password goes)"}
	}
	var peek jwt.RegisteredClaims
	if _, _, err := jwt.NewParser().ParseUnverified(token, &peek); err != nil {
		return nil, &AuthError{"the password is not a token (want a JWT from hoopctl token issue or your identity provider)"}
	}
	if peek.Issuer == a.issuer {
		return a.own(token)
	}
	for _, p := range a.providers {
		if p.cfg.Issuer == peek.Issuer {
			return p.authenticate(ctx, token, a.now)
		}
	}
	return nil, &AuthError{fmt.Sprintf("token issuer %q is not trusted by this broker", peek.Issuer)}
}

func (a *Authenticator) own(token string) (*Identity, error) {
	var c Claims
	_, err := jwt.ParseWithClaims(token, &c, func(*jwt.Token) (any, error) {
		return a.key.Public(), nil
	},
		jwt.WithValidMethods([]string{jwt.SigningMethodEdDSA.Alg()}),
		jwt.WithIssuer(a.issuer),
		jwt.WithAudience(Audience),
		jwt.WithExpirationRequired(),
		jwt.WithTimeFunc(a.now),
	)
	if err != nil {
		return nil, &AuthError{jwtReason(err)}
	}
	if c.Subject == "" {
		return nil, &AuthError{"token has no subject"}
	}
	return &Identity{
		Principal: session.Principal{Subject: c.Subject, Name: c.Name, Email: c.Email, Issuer: c.Issuer, Groups: c.Groups},
		Actors:    c.Act.actors(),
		Parent:    c.Parent,
		Provider:  "hoop",
		Expiry:    c.ExpiresAt.Time,
	}, nil
}

func jwtReason(err error) string {
	switch {
	case errors.Is(err, jwt.ErrTokenExpired):
		return "token expired"
	case errors.Is(err, jwt.ErrTokenNotValidYet):
		return "token not valid yet"
	case errors.Is(err, jwt.ErrTokenSignatureInvalid):
		return "token signature invalid"
	case errors.Is(err, jwt.ErrTokenInvalidAudience):
		return "token is for another audience"
	case errors.Is(err, jwt.ErrTokenRequiredClaimMissing):
		return "token has no expiry"
	case errors.Is(err, jwt.ErrTokenUnverifiable), errors.Is(err, jwt.ErrTokenSignatureInvalid):
		return "token signature invalid"
	}
	return "token invalid"
}

// provider is an OIDC provider, discovered on first use.
type provider struct {
	cfg *config.Provider

	mu       sync.Mutex
	verifier *oidc.IDTokenVerifier
}

func (p *provider) get(ctx context.Context) (*oidc.IDTokenVerifier, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.verifier != nil {
		return p.verifier, nil
	}
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	op, err := oidc.NewProvider(ctx, p.cfg.Issuer)
	if err != nil {
		return nil, err
	}
	p.verifier = op.Verifier(&oidc.Config{ClientID: p.cfg.Audience})
	return p.verifier, nil
}

func (p *provider) authenticate(ctx context.Context, token string, now func() time.Time) (*Identity, error) {
	v, err := p.get(ctx)
	if err != nil {
		return nil, &AuthError{fmt.Sprintf("identity provider %s is unavailable", p.cfg.Name)}
	}
	idt, err := v.Verify(ctx, token)
	if err != nil {
		var exp *oidc.TokenExpiredError
		if errors.As(err, &exp) {
			return nil, &AuthError{"token expired"}
		}
		return nil, &AuthError{fmt.Sprintf("token rejected by provider %s", p.cfg.Name)}
	}
	var claims map[string]any
	if err := idt.Claims(&claims); err != nil {
		return nil, &AuthError{"token claims unreadable"}
	}
	id := &Identity{
		Principal: session.Principal{
			Subject: idt.Subject,
			Issuer:  idt.Issuer,
			Email:   str(claims["email"]),
			Name:    str(lookup(claims, p.cfg.UsernameClaim)),
			Groups:  strs(lookup(claims, p.cfg.GroupsClaim)),
		},
		Provider: p.cfg.Name,
		Expiry:   idt.Expiry,
		Parent:   str(claims["hoop_parent_session"]),
		Actors:   actFromMap(claims["act"]),
	}
	return id, nil
}

// lookup follows a dotted claim path into nested objects.
func lookup(claims map[string]any, path string) any {
	var cur any = claims
	for part := range strings.SplitSeq(path, ".") {
		m, ok := cur.(map[string]any)
		if !ok {
			return nil
		}
		cur = m[part]
	}
	return cur
}

func str(v any) string {
	s, _ := v.(string)
	return s
}

func strs(v any) []string {
	switch v := v.(type) {
	case string:
		return []string{v}
	case []any:
		out := make([]string, 0, len(v))
		for _, e := range v {
			if s, ok := e.(string); ok {
				out = append(out, s)
			}
		}
		return out
	}
	return nil
}

func actFromMap(v any) []session.Actor {
	var out []session.Actor
	for m, ok := v.(map[string]any); ok && len(out) < 16; m, ok = m["act"].(map[string]any) {
		out = append(out, session.Actor{Subject: str(m["sub"]), Issuer: str(m["iss"])})
	}
	return out
}
