// Package replay plays recorded sessions back: as a transcript for people
// (Text) or as one JSON event per line for programs (JSON).
//
// Both implement Renderer and are fed events in order, as they are read and
// verified (session.Chain), so a live session can be followed. Text is
// protocol-agnostic at its core: the header, the footer and generic events are
// rendered here, and each protocol registers handlers for the kinds it renders
// its own way (RegisterText) — sql.go renders Postgres sessions like a psql
// transcript.
package replay

import "github.com/hoophq/hoop/session"

// Renderer plays a session back.
type Renderer interface {
	// Event renders one verified event. Events come in seq order.
	Event(ev *session.Event) error
	// Finish ends the playback. info is the session's index entry (nil when
	// unknown), rep what verification found.
	Finish(info *session.Info, rep session.Report) error
}

var (
	_ Renderer = (*Text)(nil)
	_ Renderer = (*JSON)(nil)
)
