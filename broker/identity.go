package broker

import (
	"slices"
	"time"

	"github.com/hoophq/hoop/session"
)

// Identity is an authenticated caller: the principal who started the chain and
// the agents acting for it.
type Identity struct {
	Principal session.Principal
	// Actors is the delegation chain from the token's act claim, nearest first.
	Actors []session.Actor
	// Parent is the session inside which the token was minted, if any.
	Parent string
	// Provider names where the token came from: "hoop" or an OIDC provider.
	Provider string
	// Expiry is when the token expires.
	Expiry time.Time
}

// User is the name shown for the principal: name, email or subject.
func (id *Identity) User() string {
	switch {
	case id.Principal.Name != "":
		return id.Principal.Name
	case id.Principal.Email != "":
		return id.Principal.Email
	}
	return id.Principal.Subject
}

// InAnyGroup reports whether the identity belongs to one of groups.
func (id *Identity) InAnyGroup(groups []string) bool {
	for _, g := range groups {
		if slices.Contains(id.Principal.Groups, g) {
			return true
		}
	}
	return false
}
