package admin

import (
	"bytes"
	"encoding/json"
	"net/http"
	"strconv"

	"github.com/hoophq/hoop/session"
	"github.com/hoophq/hoop/store"
)

// RecordLine is one line of the records stream. Data is the framed record as
// stored (base64 in JSON). A line with Error ends a stream that failed after
// it had started.
type RecordLine struct {
	Seq   uint64 `json:"seq,omitempty"`
	Data  []byte `json:"data,omitempty"`
	Error string `json:"error,omitempty"`
}

// Read sizes: records are copied out of the store's read transaction in
// batches, so a slow client never holds one open.
const (
	batchRecords = 512
	batchBytes   = 4 << 20
)

// GET /v1/sessions/{id}/records?after=N&follow=1
func (s *Server) records(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("id")
	q := r.URL.Query()
	var after uint64
	if a := q.Get("after"); a != "" {
		n, err := strconv.ParseUint(a, 10, 64)
		if err != nil {
			writeError(w, http.StatusBadRequest, "after: want a sequence number, got "+strconv.Quote(a))
			return
		}
		after = n
	}
	follow := q.Get("follow") == "1" || q.Get("follow") == "true"
	if _, err := s.cfg.Store.Session(id); err != nil {
		s.storeError(w, err)
		return
	}

	w.Header().Set("Content-Type", "application/x-ndjson")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(http.StatusOK)
	rc := http.NewResponseController(w)
	enc := json.NewEncoder(w)
	ctx := r.Context() // canceled when the client goes away or Close is called
	for {
		var committed <-chan struct{}
		if follow && s.cfg.Recorder != nil {
			// Taken before reading, so a commit between the read and the
			// wait is not missed.
			committed = s.cfg.Recorder.Committed()
		}
		// The index entry is read before the records: session.end and the
		// entry's outcome are committed together, so an outcome seen here
		// means every record the session will ever have is readable now.
		over := false
		if follow {
			info, err := Get(s.cfg.Store, id)
			if err != nil {
				enc.Encode(RecordLine{Error: err.Error()})
				return
			}
			over = info.Outcome != ""
		}
		batch, ended, full, err := readBatch(s.cfg.Store, id, after)
		for _, rec := range batch {
			if err := enc.Encode(RecordLine{Seq: rec.Seq, Data: rec.Data}); err != nil {
				return // the client went away
			}
			after = rec.Seq
		}
		if err != nil {
			s.log.Error("admin API: reading records failed", "session", id, "err", err)
			enc.Encode(RecordLine{Error: err.Error()})
			return
		}
		rc.Flush()
		switch {
		case ended:
			return
		case full:
			continue // more to read at once
		case !follow || committed == nil:
			return
		case over:
			return // ended without a seal (failed closed, or cut)
		}
		select {
		case <-committed:
		case <-ctx.Done():
			return
		}
	}
}

// readBatch copies up to a batch of records after seq after. ended says the
// batch holds session.end; full says it stopped at a cap.
func readBatch(st Store, id string, after uint64) (batch []store.Record, ended, full bool, err error) {
	size := 0
	err = st.Records(id, after, func(r store.Record) bool {
		r.Data = bytes.Clone(r.Data)
		batch = append(batch, r)
		size += len(r.Data)
		if rec, err := session.ParseRecord(r.Data); err == nil && rec.Kind == session.KindEnd {
			ended = true
			return false
		}
		full = len(batch) >= batchRecords || size >= batchBytes
		return !full
	})
	return batch, ended, full, err
}
