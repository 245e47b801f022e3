// Package session is the event model every protocol records into, and the
// recorder that makes it durable.
//
// # Model
//
// A Session is one client connection through one broker connection: who (the
// principal and the chain of actors that acted for it), where from, to which
// connection, when, and how it ended. Its Events are numbered densely from 1 and
// time-stamped on the broker's clock (the session's start wall time plus the
// monotonic time since), so their order and spacing survive wall-clock steps.
// Kinds are shared by all protocols (command, result, input, output, ...); a
// protocol's detail lives in the typed payload, not in new kinds.
//
// # Records
//
// Each event is stored as one length-framed binary record (see record.go) that
// carries the SHA-256 of the previous record of the same session; the first
// record chains to a hash of the session id. session.end carries the broker's
// ed25519 signature of its own hash: the seal. Verify walks a session's records
// and reports it sealed, unsealed (cut by a crash, chain intact) or broken at a
// named sequence number.
//
// # Durability
//
// The Recorder writes the records of all sessions through one group-commit loop.
// A durable append (a command about to be forwarded) returns only once its record
// is committed to the store — written through to the operating system, and also
// fsync'd when the session's durability is "fsync". Other appends (results,
// output) return at once and are committed within a short bounded delay, in
// order; End waits for everything before it. If a commit fails, every session with
// a record in that batch is failed closed: its next append returns the error, so
// the protocol refuses the command instead of running it unrecorded.
package session
