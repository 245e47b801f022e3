package session

import (
	"crypto/ed25519"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/hoophq/hoop/store"
)

// Store is what the recorder needs of a store: atomic batches, written through
// to the operating system, fsync'd when asked.
type Store interface {
	Commit(b *store.Batch, fsync bool) error
	Sync() error
}

var _ Store = (*store.Bolt)(nil)

// Errors returned by Append and End.
var (
	ErrEnded  = errors.New("session already ended")
	ErrClosed = errors.New("recorder closed")
)

// StoreError wraps a commit failure. A session that returns it is failed closed:
// the protocol must refuse the command with its own native error.
type StoreError struct{ Err error }

func (e *StoreError) Error() string { return "recording failed: " + e.Err.Error() }
func (e *StoreError) Unwrap() error { return e.Err }

// Options configure a Recorder.
type Options struct {
	// Key seals sessions. Required.
	Key ed25519.PrivateKey
	// BrokerID is written into each session's Info.
	BrokerID string
	// FsyncInterval bounds how long a commit stays without fsync. Default 100ms.
	FsyncInterval time.Duration
	// FlushDelay bounds how long a non-durable record (a result, output) waits
	// to be committed with others. Default 10ms.
	FlushDelay time.Duration
	// MaxQueued bounds the bytes of records waiting to be committed. Appends
	// beyond it wait for the store: a fast producer (terminal output, a flood of
	// results) is slowed to the store's pace instead of growing the broker's
	// memory. Default 64MiB.
	MaxQueued int
}

// A Recorder commits the records of all sessions through one group-commit loop.
// It is safe for concurrent use.
type Recorder struct {
	st   Store
	opts Options

	mu         sync.Mutex // guards the fields below
	queue      []item
	spare      []item
	queued     int        // bytes of records in queue and in the batch being committed
	room       *sync.Cond // signalled when queued drops; waits with mu held
	hasDurable bool       // queue holds a record somebody waits for
	oldest     time.Time  // when the oldest queued record was queued
	committing bool       // a commit is in flight (by a leading append or the loop)
	dirty      bool       // committed without fsync since the last Sync
	closed     bool
	committed  chan struct{} // closed and replaced after each commit

	wake chan struct{} // buffered 1: something worth a look was queued
	done chan struct{} // closed when run returns
	err  error         // first Sync error; guarded by mu
}

type item struct {
	s     *Session
	rec   store.Record // Data nil: index update only
	entry *store.Entry
	fsync bool
	done  chan error // nil for non-durable appends
}

// NewRecorder starts a recorder writing to st. Close stops it.
func NewRecorder(st Store, opts Options) *Recorder {
	if opts.FsyncInterval <= 0 {
		opts.FsyncInterval = 100 * time.Millisecond
	}
	if opts.FlushDelay <= 0 {
		opts.FlushDelay = 10 * time.Millisecond
	}
	if opts.MaxQueued <= 0 {
		opts.MaxQueued = 64 << 20
	}
	r := &Recorder{
		st:        st,
		opts:      opts,
		committed: make(chan struct{}),
		wake:      make(chan struct{}, 1),
		done:      make(chan struct{}),
	}
	r.room = sync.NewCond(&r.mu)
	go r.run()
	return r
}

// Committed returns a channel that is closed after the next commit; followers
// of live sessions wait on it.
func (r *Recorder) Committed() <-chan struct{} {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.committed
}

// PublicKey is the key that verifies seals.
func (r *Recorder) PublicKey() ed25519.PublicKey { return r.opts.Key.Public().(ed25519.PublicKey) }

// Close commits what is queued, fsyncs and stops the loop. Sessions still open
// stay unsealed.
func (r *Recorder) Close() error {
	r.mu.Lock()
	if !r.closed {
		r.closed = true
		r.poke()
		r.room.Broadcast()
	}
	r.mu.Unlock()
	<-r.done
	return r.err
}

// poke wakes the loop; r.mu is held.
func (r *Recorder) poke() {
	select {
	case r.wake <- struct{}{}:
	default:
	}
}

// enqueue queues an item. A durable item whose append finds no commit in
// flight leads: its goroutine takes the queue and commits it at once, so a
// lone command pays no hand-off to another goroutine. Items that arrive while
// a commit is in flight wait for the next one, which the loop makes as soon as
// the flight lands: one commit for all of them (group commit).
//
// enqueue returns the batch its caller leads, if any: the caller commits it
// with commitBatch once it has released its own locks, so that no session
// lock is held across the store's I/O.
func (r *Recorder) enqueue(it item) (lead []item, err error) {
	r.mu.Lock()
	// Wait for room, unless the queue is empty: one record larger than the
	// bound still goes through, alone.
	for r.queued > 0 && r.queued+len(it.rec.Data) > r.opts.MaxQueued && !r.closed {
		r.room.Wait()
	}
	if r.closed {
		r.mu.Unlock()
		return nil, ErrClosed
	}
	r.queued += len(it.rec.Data)
	if len(r.queue) == 0 {
		r.oldest = time.Now()
		r.poke() // start the flush-delay clock
	}
	r.queue = append(r.queue, it)
	if it.done == nil {
		r.mu.Unlock()
		return nil, nil
	}
	r.hasDurable = true
	if r.committing {
		r.mu.Unlock()
		return nil, nil // the commit in flight hands the queue on when it lands
	}
	batch := r.take()
	r.mu.Unlock()
	return batch, nil
}

// take claims the queue for a commit; r.mu is held.
func (r *Recorder) take() []item {
	batch := r.queue
	r.queue, r.spare = r.spare[:0], nil
	r.hasDurable = false
	r.committing = true
	return batch
}

// commitBatch commits a claimed batch, answers its waiters, and hands what
// queued up meanwhile to the loop.
func (r *Recorder) commitBatch(batch []item) {
	fsynced := r.commit(batch)
	size := 0
	for _, it := range batch {
		size += len(it.rec.Data)
	}
	clear(batch) // drop references to sessions and buffers
	r.mu.Lock()
	r.dirty = r.dirty || !fsynced
	r.committing = false
	r.queued -= size
	r.room.Broadcast()
	r.spare = batch[:0]
	close(r.committed)
	r.committed = make(chan struct{})
	if len(r.queue) > 0 {
		r.poke()
	}
	r.mu.Unlock()
}

// run commits what no durable append led: non-durable records after the
// flush delay, durable ones that queued during a commit, and fsyncs the store
// every FsyncInterval when it was written to.
func (r *Recorder) run() {
	defer close(r.done)
	syncTick := time.NewTicker(r.opts.FsyncInterval)
	defer syncTick.Stop()
	flush := time.NewTimer(time.Hour)
	flush.Stop()
	sync := func() {
		r.mu.Lock()
		dirty := r.dirty
		r.dirty = false
		r.mu.Unlock()
		if !dirty {
			return
		}
		if err := r.st.Sync(); err != nil {
			r.mu.Lock()
			r.dirty = true
			if r.err == nil {
				r.err = err
			}
			r.mu.Unlock()
		}
	}
	for {
		r.mu.Lock()
		for {
			n := len(r.queue)
			if n > 0 && !r.committing && (r.hasDurable || r.closed || time.Since(r.oldest) >= r.opts.FlushDelay) {
				break
			}
			if n == 0 && r.closed && !r.committing {
				r.mu.Unlock()
				sync()
				return
			}
			if n > 0 && !r.committing {
				flush.Reset(r.opts.FlushDelay - time.Since(r.oldest))
			}
			r.mu.Unlock()
			select {
			case <-r.wake:
			case <-flush.C:
			case <-syncTick.C:
				sync()
			}
			flush.Stop()
			r.mu.Lock()
		}
		batch := r.take()
		r.mu.Unlock()
		r.commitBatch(batch)
	}
}

// commit writes one batch and answers its waiters. It reports whether the batch
// was fsync'd.
func (r *Recorder) commit(batch []item) (fsynced bool) {
	var b store.Batch
	fsync := false
	live := batch[:0:0]
	for _, it := range batch {
		if it.rec.Data != nil {
			if err := it.s.failure(); err != nil {
				// The session failed in an earlier batch; this record would
				// chain to one that was never written.
				if it.done != nil {
					it.done <- err
				}
				continue
			}
			b.Records = append(b.Records, it.rec)
		}
		if it.entry != nil {
			b.Entries = append(b.Entries, *it.entry)
		}
		fsync = fsync || (it.fsync && it.done != nil)
		live = append(live, it)
	}
	if len(b.Records) == 0 && len(b.Entries) == 0 {
		return true
	}
	err := r.st.Commit(&b, fsync)
	if err != nil {
		err = &StoreError{Err: err}
	}
	for _, it := range live {
		if err != nil && it.rec.Data != nil {
			it.s.fail(err)
		}
		if it.done != nil {
			it.done <- err
		}
	}
	return fsync && err == nil
}

// Start records session.start for info and returns the session. ID and Started
// are filled in when empty. With fsync, the session's durable appends are
// fsync'd before they return.
func (r *Recorder) Start(info Info, fsync bool) (*Session, error) {
	now := time.Now()
	if info.ID == "" {
		info.ID = NewID()
	}
	if info.Started.IsZero() {
		info.Started = now.UTC().Round(0)
	}
	if info.BrokerID == "" {
		info.BrokerID = r.opts.BrokerID
	}
	s := &Session{r: r, info: info, fsync: fsync, mono: now, prev: GenesisHash(info.ID)}
	payload, err := json.Marshal(&s.info)
	if err != nil {
		return nil, err
	}
	if _, err := s.append(KindStart, payload, true, false); err != nil {
		return nil, err
	}
	return s, nil
}

// A Session appends the events of one session, in order. It is safe for
// concurrent use; seq order is the order of Append calls.
type Session struct {
	r     *Recorder
	fsync bool
	mono  time.Time // start, with the monotonic clock reading

	mu    sync.Mutex // guards the fields below
	info  Info
	seq   uint64
	prev  [HashSize]byte
	ended bool

	errMu sync.Mutex // guards err; taken by the commit loop
	err   error
}

// Info returns the session's description.
func (s *Session) Info() Info {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.info
}

// ID is the session id.
func (s *Session) ID() string { return s.info.ID }

func (s *Session) failure() error {
	s.errMu.Lock()
	defer s.errMu.Unlock()
	return s.err
}

func (s *Session) fail(err error) {
	s.errMu.Lock()
	if s.err == nil {
		s.err = err
	}
	s.errMu.Unlock()
}

// Now is the session's clock: the start wall time plus the monotonic time since.
func (s *Session) Now() time.Time { return s.info.Started.Add(time.Since(s.mono)) }

// Append records an event. With durable set it returns once the record is
// committed (the rule for a command about to be forwarded); otherwise it returns
// at once and the record is committed within the recorder's flush delay, in
// order. A *StoreError means the session is failed closed.
func (s *Session) Append(kind Kind, payload any, durable bool) (uint64, error) {
	p, err := json.Marshal(payload)
	if err != nil {
		return 0, fmt.Errorf("encode %s payload: %w", kind, err)
	}
	return s.append(kind, p, durable, false)
}

// Command records a command durably: when it returns nil, the command may be
// forwarded.
func (s *Session) Command(c *Command) (uint64, error) { return s.Append(KindCommand, c, true) }

// Result records a result without waiting.
func (s *Session) Result(res *Result) error {
	_, err := s.Append(KindResult, res, false)
	return err
}

func (s *Session) append(kind Kind, payload []byte, durable, seal bool) (uint64, error) {
	if err := s.failure(); err != nil {
		return 0, err
	}
	s.mu.Lock()
	if s.ended {
		s.mu.Unlock()
		return 0, ErrEnded
	}
	s.seq++
	rec := Record{Seq: s.seq, Time: s.Now(), Kind: kind, Prev: s.prev, Payload: payload}
	data := rec.Marshal(nil)
	s.prev = frameHash(data, 0)
	it := item{s: s, rec: store.Record{Session: s.info.ID, Seq: rec.Seq, Data: data}, fsync: s.fsync}
	switch kind {
	case KindStart:
		it.entry = s.entry()
	case KindEnd:
		s.ended = true
		it.entry = s.entry()
	}
	if seal {
		rec.Sig = ed25519.Sign(s.r.opts.Key, s.prev[:])
		it.rec.Data = rec.Marshal(data[:0])
	}
	if durable {
		it.done = make(chan error, 1)
	}
	lead, err := s.r.enqueue(it)
	s.mu.Unlock()
	if err != nil || it.done == nil {
		return rec.Seq, err
	}
	if lead != nil {
		s.r.commitBatch(lead)
	}
	return rec.Seq, <-it.done
}

// entry is the session's index entry; s.mu is held.
func (s *Session) entry() *store.Entry {
	data, _ := json.Marshal(&s.info) // Info always encodes
	return &store.Entry{ID: s.info.ID, Data: data}
}

// End records session.end with the seal, after everything appended before it,
// and waits for it to be committed. A session that failed closed can't be
// sealed; its index entry is still updated (best effort) and the failure is
// returned.
func (s *Session) End(outcome Outcome, reason string) error {
	s.mu.Lock()
	if s.ended {
		s.mu.Unlock()
		return ErrEnded
	}
	s.info.Ended = s.Now()
	s.info.Outcome = outcome
	s.info.Reason = reason
	s.mu.Unlock()
	if err := s.failure(); err != nil {
		s.mu.Lock()
		s.ended = true
		it := item{s: s, entry: s.entry(), done: make(chan error, 1)}
		s.mu.Unlock()
		if lead, qerr := s.r.enqueue(it); qerr == nil {
			if lead != nil {
				s.r.commitBatch(lead)
			}
			<-it.done
		}
		return err
	}
	payload, _ := json.Marshal(&End{Outcome: outcome, Reason: reason, Key: KeyID(s.r.PublicKey())})
	_, err := s.append(KindEnd, payload, true, true)
	return err
}

// KeyID names a public key in seals: the first 8 bytes of its SHA-256, in hex.
func KeyID(pub ed25519.PublicKey) string {
	h := sha256.Sum256(pub)
	return fmt.Sprintf("%x", h[:8])
}
