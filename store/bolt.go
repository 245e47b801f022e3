package store

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"

	bolt "go.etcd.io/bbolt"
	bolterrors "go.etcd.io/bbolt/errors"
)

// Buckets. Records live in one sub-bucket per session under "records", keyed by
// the big-endian sequence number, so a session reads back in order and new
// records append at the end of their bucket.
var (
	bucketSessions = []byte("sessions")
	bucketRecords  = []byte("records")
	bucketMeta     = []byte("meta")
	keyFormat      = []byte("format")
	formatVersion  = []byte("hoop-store/1")
)

// Options configure Open.
type Options struct {
	// ReadOnly opens the store for reading, sharing it with other readers.
	ReadOnly bool
	// LockTimeout bounds the wait for the file lock. Default 1s.
	LockTimeout time.Duration
	// MaxSize caps the file size (0: no cap); commits beyond it fail.
	MaxSize int
}

// Bolt is the bbolt store. Commits are written through to the operating system;
// Commit(b, true) or Sync makes them survive power loss too. It is safe for
// concurrent use, with one committing goroutine at a time (bbolt's rule).
type Bolt struct {
	db *bolt.DB
}

// Open opens or creates the store at path.
func Open(path string, opts Options) (*Bolt, error) {
	if opts.LockTimeout == 0 {
		opts.LockTimeout = time.Second
	}
	if !opts.ReadOnly {
		if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
			return nil, err
		}
	} else if _, err := os.Stat(path); err != nil {
		return nil, err
	}
	db, err := bolt.Open(path, 0o600, &bolt.Options{
		Timeout:  opts.LockTimeout,
		ReadOnly: opts.ReadOnly,
		// Each commit is written through (pwrite) and the recorder decides when
		// to fsync: per commit under durability fsync, on a ticker otherwise.
		NoSync:         true,
		NoGrowSync:     true,
		NoFreelistSync: true,
		FreelistType:   bolt.FreelistMapType,
		// Map generously up front so that a growing file does not make the
		// writer wait for readers (followers, the admin API) to finish.
		InitialMmapSize: 1 << 30,
		MaxSize:         opts.MaxSize,
	})
	if errors.Is(err, bolterrors.ErrTimeout) {
		return nil, fmt.Errorf("%s: %w", path, ErrLocked)
	}
	if err != nil {
		return nil, fmt.Errorf("open store %s: %w", path, err)
	}
	s := &Bolt{db: db}
	if !opts.ReadOnly {
		err = db.Update(func(tx *bolt.Tx) error {
			for _, b := range [][]byte{bucketSessions, bucketRecords, bucketMeta} {
				if _, err := tx.CreateBucketIfNotExists(b); err != nil {
					return err
				}
			}
			m := tx.Bucket(bucketMeta)
			if v := m.Get(keyFormat); v != nil && !bytes.Equal(v, formatVersion) {
				return fmt.Errorf("store format %q, this broker reads %q", v, formatVersion)
			}
			return m.Put(keyFormat, formatVersion)
		})
		if err == nil {
			err = db.Sync()
		}
		if err != nil {
			db.Close()
			return nil, fmt.Errorf("open store %s: %w", path, err)
		}
	}
	return s, nil
}

// Commit writes the batch in one transaction, then fsyncs when fsync is set.
// Records must be new: overwriting one is an error (ErrExists) and nothing of
// the batch is written.
func (s *Bolt) Commit(b *Batch, fsync bool) error {
	// With NoSync off for this commit, bbolt fsyncs the data pages before it
	// writes the meta page that points at them, so power loss can't leave the
	// meta ahead of the data. Only one goroutine commits at a time.
	s.db.NoSync = !fsync
	err := s.db.Update(func(tx *bolt.Tx) error {
		recs := tx.Bucket(bucketRecords)
		var (
			cur   *bolt.Bucket
			curID string
			key   [8]byte
		)
		for _, r := range b.Records {
			if cur == nil || curID != r.Session {
				var err error
				if cur, err = recs.CreateBucketIfNotExists([]byte(r.Session)); err != nil {
					return err
				}
				cur.FillPercent = 1 // appends only: pack pages full
				curID = r.Session
			}
			binary.BigEndian.PutUint64(key[:], r.Seq)
			if cur.Get(key[:]) != nil {
				return fmt.Errorf("session %s seq %d: %w", r.Session, r.Seq, ErrExists)
			}
			if err := cur.Put(key[:], r.Data); err != nil {
				return err
			}
		}
		idx := tx.Bucket(bucketSessions)
		for _, e := range b.Entries {
			if err := idx.Put([]byte(e.ID), e.Data); err != nil {
				return err
			}
		}
		return nil
	})
	return err
}

// Sync flushes written commits to stable storage.
func (s *Bolt) Sync() error { return s.db.Sync() }

// Close closes the store.
func (s *Bolt) Close() error { return s.db.Close() }

// Path is the store's file.
func (s *Bolt) Path() string { return s.db.Path() }

// Sessions calls fn for each index entry, newest first (ids are time-ordered),
// until fn returns false. Data is only valid during the call.
func (s *Bolt) Sessions(fn func(e Entry) bool) error {
	return s.db.View(func(tx *bolt.Tx) error {
		c := tx.Bucket(bucketSessions).Cursor()
		for k, v := c.Last(); k != nil; k, v = c.Prev() {
			if !fn(Entry{ID: string(k), Data: v}) {
				return nil
			}
		}
		return nil
	})
}

// Session returns a copy of one index entry.
func (s *Bolt) Session(id string) (Entry, error) {
	var e Entry
	err := s.db.View(func(tx *bolt.Tx) error {
		v := tx.Bucket(bucketSessions).Get([]byte(id))
		if v == nil {
			return fmt.Errorf("%s: %w", id, ErrNotFound)
		}
		e = Entry{ID: id, Data: bytes.Clone(v)}
		return nil
	})
	return e, err
}

// Records calls fn for each record of the session with seq > after, in order,
// until fn returns false. Data is only valid during the call.
func (s *Bolt) Records(id string, after uint64, fn func(r Record) bool) error {
	return s.db.View(func(tx *bolt.Tx) error {
		b := tx.Bucket(bucketRecords).Bucket([]byte(id))
		if b == nil {
			if tx.Bucket(bucketSessions).Get([]byte(id)) == nil {
				return fmt.Errorf("%s: %w", id, ErrNotFound)
			}
			return nil
		}
		var start [8]byte
		binary.BigEndian.PutUint64(start[:], after+1)
		c := b.Cursor()
		for k, v := c.Seek(start[:]); k != nil; k, v = c.Next() {
			if len(k) != 8 {
				return fmt.Errorf("session %s: malformed key %x", id, k)
			}
			if !fn(Record{Session: id, Seq: binary.BigEndian.Uint64(k), Data: v}) {
				return nil
			}
		}
		return nil
	})
}
