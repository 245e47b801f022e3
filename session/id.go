package session

import "github.com/google/uuid"

// NewID returns a new session id: a UUIDv7, so ids sort by start time.
func NewID() string { return uuid.Must(uuid.NewV7()).String() }
