package broker

import (
	"time"

	"github.com/golang-jwt/jwt/v5"
)

// AssertionClaims are the claims of an identity assertion: the broker's signed
// statement, sent to an upstream service, of who is calling through which
// session. Services verify it with the broker's public key (broker.pub, or the
// admin API's key endpoint): EdDSA, issuer the broker's issuer, audience
// "hoop:" plus the connection name, and a short expiry.
type AssertionClaims struct {
	jwt.RegisteredClaims
	Name   string   `json:"name,omitempty"`
	Email  string   `json:"email,omitempty"`
	Groups []string `json:"groups,omitempty"`
	Act    *Act     `json:"act,omitempty"`
	// Session is the id of the recorded session the request belongs to.
	Session string `json:"hoop_session"`
	// Connection names the broker connection.
	Connection string `json:"hoop_connection"`
}

// AssertionAudience is the "aud" of assertions for connection name.
func AssertionAudience(connection string) string { return "hoop:" + connection }

// Assertion signs an identity assertion for the session's caller, valid for
// ttl. It carries no secret: only who, through which session and connection.
func (s *Session) Assertion(ttl time.Duration) (string, error) {
	a := s.ep.b.auth
	now := a.now()
	p := s.id.Principal
	c := AssertionClaims{
		RegisteredClaims: jwt.RegisteredClaims{
			Issuer:    a.issuer,
			Subject:   p.Subject,
			Audience:  jwt.ClaimStrings{AssertionAudience(s.ep.Conn.Name)},
			IssuedAt:  jwt.NewNumericDate(now),
			NotBefore: jwt.NewNumericDate(now.Add(-30 * time.Second)),
			ExpiresAt: jwt.NewNumericDate(now.Add(ttl)),
		},
		Name:       p.Name,
		Email:      p.Email,
		Groups:     p.Groups,
		Act:        actClaim(s.id.Actors),
		Session:    s.ID(),
		Connection: s.ep.Conn.Name,
	}
	return jwt.NewWithClaims(jwt.SigningMethodEdDSA, c).SignedString(a.key)
}
