package store

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"time"

	bolt "go.etcd.io/bbolt"
	bolterrors "go.etcd.io/bbolt/errors"

	"github.com/hoophq/hoop/store/internal/chunk"
)

// Buckets. Records live in one sub-bucket per session under "records", in
// chunks of consecutive records keyed by the big-endian sequence number of
// the first (internal/chunk), so a session reads back in order and new chunks
// append at the end of their bucket.
var (
	bucketSessions = []byte("sessions")
	bucketRecords  = []byte("records")
	bucketMeta     = []byte("meta")
	keyFormat      = []byte("format")
	formatVersion  = []byte("hoop-store/2")
)

// Options configure Open.
type Options struct {
	// ReadOnly opens the store for reading, sharing it with other readers. A
	// store left with an unapplied log (its broker crashed) is recovered first,
	// which needs the write lock for a moment.
	ReadOnly bool
	// LockTimeout bounds the wait for the file lock. Default 1s.
	LockTimeout time.Duration
	// ApplyDelay bounds how long committed batches wait in the log before they
	// are applied to bbolt (readers never see that delay: they wait for the
	// apply). Default 100ms.
	ApplyDelay time.Duration
	// MaxPending bounds the bytes committed to the log but not yet applied;
	// Commit waits beyond it. Default 64MiB.
	MaxPending int
}

// Bolt is the store: a write-ahead log in front of a bbolt file. Commit
// appends a batch to the log with one write — written through to the
// operating system, so it survives a crash of the process — and fsyncs the log
// when asked; the batches are applied to bbolt in the background, in larger
// fsync'd transactions, and the applied part of the log is removed. Readers see
// every committed batch: a read first waits for the log to be applied. On
// Open, a log left by a crash is replayed into bbolt.
//
// It is safe for concurrent use.
type Bolt struct {
	db       *bolt.DB
	readOnly bool
	opts     Options

	mu           sync.Mutex // guards the fields below; Commit holds it across the log write
	cond         *sync.Cond // broadcast when applied or state changes
	wal          *wal
	firstSeg     uint64         // the oldest segment of the log not yet removed
	pending      []pendingBatch // in the log, not yet in bbolt
	pendingBytes int
	written      uint64 // batches committed to the log
	applied      uint64 // batches applied to bbolt
	urgent       bool   // a reader waits: apply now
	walErr       error  // a failed log write: the log may hold a torn entry, refuse further commits
	applyErr     error  // the last apply failed; cleared by a successful one
	closed       bool
	wake         chan struct{}
	done         chan struct{}
}

type pendingBatch struct {
	b    *Batch
	seg  uint64
	size int
}

// Open opens or creates the store at path (a bbolt file; its log is the
// directory path+".wal").
func Open(path string, opts Options) (*Bolt, error) {
	if opts.LockTimeout == 0 {
		opts.LockTimeout = time.Second
	}
	if opts.ApplyDelay <= 0 {
		opts.ApplyDelay = 100 * time.Millisecond
	}
	if opts.MaxPending <= 0 {
		opts.MaxPending = 64 << 20
	}
	walDir := path + ".wal"
	if opts.ReadOnly {
		if _, err := os.Stat(path); err != nil {
			return nil, err
		}
		if segs, _ := walSegments(walDir); len(segs) > 0 {
			// The broker stopped without applying its log: recover first.
			rw, err := Open(path, Options{LockTimeout: opts.LockTimeout})
			if err != nil {
				return nil, err
			}
			if err := rw.Close(); err != nil {
				return nil, err
			}
		}
	} else if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return nil, err
	}
	db, err := bolt.Open(path, 0o600, &bolt.Options{
		Timeout:  opts.LockTimeout,
		ReadOnly: opts.ReadOnly,
		// bbolt only sees batched applies, each fsync'd: the log in front of it
		// carries the per-command durability.
		NoGrowSync:     true,
		NoFreelistSync: true,
		FreelistType:   bolt.FreelistMapType,
		// Map generously up front so that a growing file does not make the
		// writer wait for readers (followers, the admin API) to finish.
		InitialMmapSize: 1 << 30,
	})
	if errors.Is(err, bolterrors.ErrTimeout) {
		return nil, fmt.Errorf("%s: %w", path, ErrLocked)
	}
	if err != nil {
		return nil, fmt.Errorf("open store %s: %w", path, err)
	}
	s := &Bolt{db: db, readOnly: opts.ReadOnly, opts: opts}
	s.cond = sync.NewCond(&s.mu)
	if opts.ReadOnly {
		return s, nil
	}
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
	var last uint64
	if err == nil {
		last, err = s.recover(walDir)
	}
	if err == nil {
		s.wal, err = openWAL(walDir, last)
		s.firstSeg = last + 1
	}
	if err != nil {
		db.Close()
		return nil, fmt.Errorf("open store %s: %w", path, err)
	}
	s.wake = make(chan struct{}, 1)
	s.done = make(chan struct{})
	go s.applyLoop()
	return s, nil
}

// recover replays every segment of the log into bbolt, fsyncs it and removes
// the segments. It returns the number of the last segment seen.
func (s *Bolt) recover(dir string) (uint64, error) {
	segs, err := walSegments(dir)
	if err != nil || len(segs) == 0 {
		return 0, err
	}
	b := &Batch{}
	flush := func() error {
		if len(b.Records) == 0 && len(b.Entries) == 0 {
			return nil
		}
		err := s.db.Update(func(tx *bolt.Tx) error { return writeBatches(tx, []*Batch{b}, true) })
		b = &Batch{}
		return err
	}
	for _, seg := range segs {
		_, err := readSegment(walPath(dir, seg), func(typ byte, id string, seq uint64, data []byte) error {
			data = bytes.Clone(data)
			if typ == entryRecord {
				b.Records = append(b.Records, Record{Session: id, Seq: seq, Data: data})
			} else {
				b.Entries = append(b.Entries, Entry{ID: id, Data: data})
			}
			if len(b.Records)+len(b.Entries) >= 10000 {
				return flush()
			}
			return nil
		})
		if err == nil {
			err = flush()
		}
		if err != nil {
			return 0, fmt.Errorf("replaying the log %s: %w", walPath(dir, seg), err)
		}
	}
	for _, seg := range segs {
		if err := os.Remove(walPath(dir, seg)); err != nil {
			return 0, err
		}
	}
	return segs[len(segs)-1], syncDir(dir)
}

// run is a session's consecutive records in one apply: one chunk.
type run struct {
	first, next uint64
	recs        [][]byte
}

// writeBatches writes batches in tx. The records of each session — in seq
// order, consecutive — become one chunk keyed by the first seq (see
// internal/chunk), so bbolt pays one Put per session per apply rather than
// one per record. When replaying the log, records bbolt already holds are
// skipped if their bytes are the same, and are ErrExists if not.
func writeBatches(tx *bolt.Tx, batches []*Batch, replay bool) error {
	runs := map[string]*run{}
	var order []string
	for _, bt := range batches {
		for _, rec := range bt.Records {
			r := runs[rec.Session]
			if r == nil {
				r = &run{first: rec.Seq, next: rec.Seq}
				runs[rec.Session] = r
				order = append(order, rec.Session)
			}
			if rec.Seq != r.next { // not consecutive: start another chunk
				if err := putRun(tx, rec.Session, r, replay); err != nil {
					return err
				}
				*r = run{first: rec.Seq, next: rec.Seq}
			}
			r.recs = append(r.recs, rec.Data)
			r.next++
		}
	}
	for _, id := range order {
		if err := putRun(tx, id, runs[id], replay); err != nil {
			return err
		}
	}
	idx := tx.Bucket(bucketSessions)
	for _, bt := range batches {
		for _, e := range bt.Entries {
			if err := idx.Put([]byte(e.ID), e.Data); err != nil {
				return err
			}
		}
	}
	return nil
}

func putRun(tx *bolt.Tx, id string, r *run, replay bool) error {
	b, err := tx.Bucket(bucketRecords).CreateBucketIfNotExists([]byte(id))
	if err != nil {
		return err
	}
	b.FillPercent = 1 // appends only: pack pages full
	if replay {
		// Drop what bbolt already holds, checking it is the same.
		var bad error
		err := eachStored(b, r.first-1, func(seq uint64, data []byte) bool {
			if seq != r.first || len(r.recs) == 0 {
				return false
			}
			if !bytes.Equal(data, r.recs[0]) {
				bad = fmt.Errorf("session %s seq %d: %w", id, seq, ErrExists)
				return false
			}
			r.first++
			r.recs = r.recs[1:]
			return true
		})
		if err == nil {
			err = bad
		}
		if err != nil || len(r.recs) == 0 {
			return err
		}
	}
	size := 0
	for _, rec := range r.recs {
		size += chunk.Size(len(rec))
	}
	v := make([]byte, 0, size)
	for _, rec := range r.recs {
		v = chunk.Append(v, rec)
	}
	var key [8]byte
	binary.BigEndian.PutUint64(key[:], r.first)
	return b.Put(key[:], v)
}

// eachStored calls fn for each record of a session's bucket with seq > after,
// in order, until fn returns false. Data aliases the bucket's memory.
func eachStored(b *bolt.Bucket, after uint64, fn func(seq uint64, data []byte) bool) error {
	var start [8]byte
	binary.BigEndian.PutUint64(start[:], after+1)
	c := b.Cursor()
	// The chunk holding after+1 is the last one keyed at or before it.
	k, v := c.Seek(start[:])
	switch {
	case k == nil:
		k, v = c.Last()
	case !bytes.Equal(k, start[:]):
		if pk, pv := c.Prev(); pk != nil {
			k, v = pk, pv
		} else {
			k, v = c.First()
		}
	}
	for ; k != nil; k, v = c.Next() {
		if len(k) != 8 {
			return fmt.Errorf("malformed key %x", k)
		}
		first := binary.BigEndian.Uint64(k)
		more := true
		err := chunk.Each(v, func(i int, rec []byte) bool {
			if seq := first + uint64(i); seq > after {
				more = fn(seq, rec)
			}
			return more
		})
		if err != nil {
			return fmt.Errorf("chunk at seq %d: %w", first, err)
		}
		if !more {
			return nil
		}
	}
	return nil
}

// Commit appends the batch to the log in one write, and fsyncs the log when
// fsync is set. When it returns nil the batch survives a crash of the process
// (and with fsync, power loss), and every read after it sees the batch. The
// store keeps b until it is applied: the caller must not modify it.
func (s *Bolt) Commit(b *Batch, fsync bool) error {
	if s.readOnly {
		return errors.New("store opened read-only")
	}
	size := 0
	for _, r := range b.Records {
		size += len(r.Data) + len(r.Session) + 32
	}
	for _, e := range b.Entries {
		size += len(e.Data) + len(e.ID) + 32
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	for s.pendingBytes > 0 && s.pendingBytes+size > s.opts.MaxPending && !s.closed && s.walErr == nil {
		s.urgent = true
		s.poke()
		s.cond.Wait()
	}
	switch {
	case s.closed:
		return errors.New("store closed")
	case s.walErr != nil:
		return s.walErr
	case s.applyErr != nil:
		return fmt.Errorf("applying the log to the store failed: %w", s.applyErr)
	}
	seg, err := s.wal.append(b)
	if err == nil && fsync {
		err = s.wal.sync()
	}
	if err != nil {
		s.walErr = fmt.Errorf("writing the log: %w", err)
		return s.walErr
	}
	s.written++
	s.pending = append(s.pending, pendingBatch{b: b, seg: seg, size: size})
	s.pendingBytes += size
	s.poke()
	return nil
}

func (s *Bolt) poke() {
	select {
	case s.wake <- struct{}{}:
	default:
	}
}

// caughtUp waits until every batch committed so far is applied, so that a
// read sees it.
func (s *Bolt) caughtUp() error {
	if s.readOnly {
		return nil
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	target := s.written
	for s.applied < target && !s.closed && s.applyErr == nil {
		s.urgent = true
		s.poke()
		s.cond.Wait()
	}
	if s.applied < target && s.applyErr != nil {
		return fmt.Errorf("applying the log to the store failed: %w", s.applyErr)
	}
	return nil
}

// Sync makes every commit so far survive power loss (it fsyncs the log).
func (s *Bolt) Sync() error {
	if s.readOnly {
		return nil
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return nil
	}
	return s.wal.sync()
}

// Close applies what the log holds, removes it and closes the store.
func (s *Bolt) Close() error {
	if s.readOnly {
		return s.db.Close()
	}
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return nil
	}
	s.closed = true
	s.cond.Broadcast()
	s.poke()
	s.mu.Unlock()
	<-s.done
	err := s.applyErr
	if cerr := s.wal.close(); err == nil {
		err = cerr
	}
	if err == nil && s.walErr == nil {
		err = s.removeSegments(s.wal.seg + 1) // all applied: the whole log goes
	}
	if cerr := s.db.Close(); err == nil {
		err = cerr
	}
	return err
}

// Path is the store's file.
func (s *Bolt) Path() string { return s.db.Path() }

// Sessions calls fn for each index entry, newest first (ids are time-ordered),
// until fn returns false. Data is only valid during the call.
func (s *Bolt) Sessions(fn func(e Entry) bool) error {
	if err := s.caughtUp(); err != nil {
		return err
	}
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
	if err := s.caughtUp(); err != nil {
		return e, err
	}
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
	if err := s.caughtUp(); err != nil {
		return err
	}
	return s.db.View(func(tx *bolt.Tx) error {
		b := tx.Bucket(bucketRecords).Bucket([]byte(id))
		if b == nil {
			if tx.Bucket(bucketSessions).Get([]byte(id)) == nil {
				return fmt.Errorf("%s: %w", id, ErrNotFound)
			}
			return nil
		}
		err := eachStored(b, after, func(seq uint64, data []byte) bool {
			return fn(Record{Session: id, Seq: seq, Data: data})
		})
		if err != nil {
			return fmt.Errorf("session %s: %w", id, err)
		}
		return nil
	})
}
