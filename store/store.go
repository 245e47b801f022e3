// Package store keeps recorded sessions: their framed, hash-chained records and
// an index of sessions for listing. It knows nothing of the event model; the
// session package decides what the bytes mean.
//
// The embedded implementation (Open) is a write-ahead log in front of a bbolt
// file: a commit is one append to the log (and one fdatasync when asked), and
// bbolt is brought up to date from it in larger batches, off the hot path. One
// broker process writes; other processes may open the store read-only while no
// broker holds it (hoopctl --store).
package store

import "errors"

// Record is one framed record of a session, keyed by its sequence number.
type Record struct {
	Session string
	Seq     uint64
	Data    []byte
}

// Entry is a session's entry in the index: its id and its description (JSON
// written by the session package), replaced as the session progresses.
type Entry struct {
	ID   string
	Data []byte
}

// Batch is what one commit writes: records of any number of sessions and
// updated index entries, atomically.
type Batch struct {
	Records []Record
	Entries []Entry
}

// Errors.
var (
	// ErrNotFound is returned for an unknown session.
	ErrNotFound = errors.New("session not found")
	// ErrExists is returned when a batch would overwrite a record.
	ErrExists = errors.New("record already exists")
	// ErrLocked is returned by Open when another process holds the store.
	ErrLocked = errors.New("store is in use by another process (is a broker running? use its admin API)")
)
