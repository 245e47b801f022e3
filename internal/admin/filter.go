package admin

import (
	"encoding/json"
	"fmt"
	"net/url"
	"slices"
	"strconv"
	"time"

	"github.com/hoophq/hoop/session"
	"github.com/hoophq/hoop/store"
)

// DefaultLimit is the number of sessions listed when a request names none.
const DefaultLimit = 100

// Store is what the admin API reads: the session index and the records.
// *store.Bolt implements it, opened for writing by the broker or read-only by
// hoopctl --store.
type Store interface {
	Sessions(fn func(e store.Entry) bool) error
	Session(id string) (store.Entry, error)
	Records(id string, after uint64, fn func(r store.Record) bool) error
}

var _ Store = (*store.Bolt)(nil)

// Filter selects sessions from the index.
type Filter struct {
	// Connection, when set, keeps the sessions of that connection.
	Connection string
	// User, when set, keeps the sessions whose principal has that subject, name
	// or email, or in which an agent of that subject acted.
	User string
	// Since, when set, keeps the sessions started at or after it.
	Since time.Time
	// Limit caps the number of sessions returned; 0 means no cap.
	Limit int
}

// Match reports whether info passes the filter (Limit aside).
func (f *Filter) Match(info *session.Info) bool {
	if f.Connection != "" && info.Connection != f.Connection {
		return false
	}
	if !f.Since.IsZero() && info.Started.Before(f.Since) {
		return false
	}
	if f.User != "" {
		p := &info.Principal
		if p.Subject != f.User && p.Name != f.User && p.Email != f.User &&
			!slices.ContainsFunc(info.Actors, func(a session.Actor) bool { return a.Subject == f.User }) {
			return false
		}
	}
	return true
}

// Values encodes the filter as query parameters.
func (f *Filter) Values() url.Values {
	q := url.Values{}
	if f.Connection != "" {
		q.Set("connection", f.Connection)
	}
	if f.User != "" {
		q.Set("user", f.User)
	}
	if !f.Since.IsZero() {
		q.Set("since", f.Since.UTC().Format(time.RFC3339Nano))
	}
	q.Set("limit", strconv.Itoa(f.Limit))
	return q
}

// ParseFilter decodes query parameters. since is a duration back from now
// ("1h") or an RFC 3339 time; limit defaults to DefaultLimit, and 0 means no
// cap.
func ParseFilter(q url.Values, now time.Time) (Filter, error) {
	f := Filter{Connection: q.Get("connection"), User: q.Get("user"), Limit: DefaultLimit}
	if s := q.Get("since"); s != "" {
		t, err := ParseSince(s, now)
		if err != nil {
			return f, err
		}
		f.Since = t
	}
	if s := q.Get("limit"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 0 {
			return f, fmt.Errorf("limit: want a number >= 0, got %q", s)
		}
		f.Limit = n
	}
	return f, nil
}

// ParseSince reads a duration back from now ("90m", "1h") or an RFC 3339 time.
func ParseSince(s string, now time.Time) (time.Time, error) {
	if d, err := time.ParseDuration(s); err == nil && d >= 0 {
		return now.Add(-d), nil
	}
	if t, err := time.Parse(time.RFC3339Nano, s); err == nil {
		return t, nil
	}
	return time.Time{}, fmt.Errorf("since: want a duration (1h) or an RFC 3339 time, got %q", s)
}

// sinceSlack is how far a session's start may precede its id's timestamp: the
// index is in id order, and the listing stops at the first id this much older
// than Since.
const sinceSlack = time.Minute

// List returns the sessions of st that f selects, newest first.
func List(st Store, f Filter) ([]session.Info, error) {
	out := []session.Info{}
	var derr error
	err := st.Sessions(func(e store.Entry) bool {
		info, err := decodeEntry(e)
		if err != nil {
			derr = err
			return false
		}
		if !f.Since.IsZero() && info.Started.Before(f.Since.Add(-sinceSlack)) {
			return false // ids are time-ordered: everything after is older
		}
		if f.Match(&info) {
			out = append(out, info)
		}
		return f.Limit == 0 || len(out) < f.Limit
	})
	if err == nil {
		err = derr
	}
	return out, err
}

// Get returns one session's index entry.
func Get(st Store, id string) (session.Info, error) {
	e, err := st.Session(id)
	if err != nil {
		return session.Info{}, err
	}
	return decodeEntry(e)
}

func decodeEntry(e store.Entry) (session.Info, error) {
	var info session.Info
	if err := json.Unmarshal(e.Data, &info); err != nil {
		return info, fmt.Errorf("session %s: index entry: %w", e.ID, err)
	}
	if info.ID == "" {
		info.ID = e.ID
	}
	return info, nil
}
