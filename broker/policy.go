package broker

import "github.com/hoophq/hoop/session"

// Action is what the policy decides for a command.
type Action string

// Actions. Review comes with the rule engine.
const (
	Allow Action = "allow"
	Deny  Action = "deny"
)

// Decision is the policy's answer for one command.
type Decision struct {
	Action Action
	// Rule names the rule that decided ("builtin:access", "builtin:identity").
	Rule string
	// Message is shown to the client when the command is not allowed.
	Message string
}

// decide is the one policy decision point every command of every protocol
// passes before it is recorded and forwarded. Today it enforces the built-in
// rules; per-connection rules plug in here.
func (s *Session) decide(c *session.Command) Decision {
	if !s.id.InAnyGroup(s.ep.Conn.Access.Groups) {
		// Access is checked at Open; this catches a reload that removed it.
		return Decision{Deny, "builtin:access", "access to " + s.ep.Conn.Name + " was revoked"}
	}
	if c.TouchesIdentity {
		return Decision{Deny, "builtin:identity", "the identity attached by the broker cannot be changed from the session"}
	}
	return Decision{Action: Allow, Rule: "builtin:access"}
}
