package store

import (
	"os"
	"time"

	bolt "go.etcd.io/bbolt"
)

// applyLoop brings bbolt up to date with the log: batches wait up to
// ApplyDelay (less when a reader or a full queue asks) and are applied
// together in one fsync'd transaction; then the segments bbolt now holds in
// full are removed. A failed apply keeps the batches and is retried; until it
// succeeds, Commit refuses new batches, so the broker fails closed instead of
// growing a log it can't apply.
func (s *Bolt) applyLoop() {
	defer close(s.done)
	timer := time.NewTimer(time.Hour)
	timer.Stop()
	var first time.Time // when the oldest pending batch was seen
	for {
		s.mu.Lock()
		for {
			n := len(s.pending)
			if n == 0 {
				first = time.Time{}
			} else if first.IsZero() {
				first = time.Now()
			}
			if n > 0 && (s.urgent || s.closed || time.Since(first) >= s.opts.ApplyDelay) {
				break
			}
			if n == 0 && s.closed {
				s.mu.Unlock()
				return
			}
			if n > 0 {
				timer.Reset(s.opts.ApplyDelay - time.Since(first))
			}
			s.mu.Unlock()
			select {
			case <-s.wake:
			case <-timer.C:
			}
			timer.Stop()
			s.mu.Lock()
		}
		batches := s.pending
		s.pending = nil
		s.urgent = false
		s.mu.Unlock()

		bs := make([]*Batch, len(batches))
		for i, p := range batches {
			bs[i] = p.b
		}
		err := s.db.Update(func(tx *bolt.Tx) error { return writeBatches(tx, bs, false) })

		s.mu.Lock()
		if err != nil {
			s.applyErr = err
			s.pending = append(batches, s.pending...)
			s.cond.Broadcast()
			closed := s.closed
			s.mu.Unlock()
			if closed {
				return
			}
			time.Sleep(100 * time.Millisecond)
			continue
		}
		s.applyErr = nil
		size := 0
		for _, p := range batches {
			size += p.size
		}
		s.applied += uint64(len(batches))
		s.pendingBytes -= size
		first = time.Time{}
		// Segments before the last applied batch's are in bbolt in full; so is
		// that one once nothing is pending and the log has moved past it.
		keep := batches[len(batches)-1].seg
		if len(s.pending) == 0 && s.wal.seg > keep {
			keep++
		}
		s.removeSegments(keep)
		s.cond.Broadcast()
		s.mu.Unlock()
	}
}

// removeSegments removes the log's segments numbered below keep; s.mu is held.
func (s *Bolt) removeSegments(keep uint64) error {
	for ; s.firstSeg < keep; s.firstSeg++ {
		if err := os.Remove(walPath(s.wal.dir, s.firstSeg)); err != nil && !os.IsNotExist(err) {
			return err
		}
	}
	return nil
}
