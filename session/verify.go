package session

import (
	"bytes"
	"crypto/ed25519"
	"encoding/json"
	"errors"
	"fmt"
)

// Status is the outcome of verifying a session's chain.
type Status string

// Statuses.
const (
	// StatusSealed: every record chains, and session.end carries a valid seal.
	StatusSealed Status = "sealed"
	// StatusUnsealed: every record chains, but there is no session.end: the
	// session is live, or was cut by a crash of the broker.
	StatusUnsealed Status = "unsealed"
	// StatusBroken: a record is missing, altered or out of place.
	StatusBroken Status = "broken"
)

// Report is the result of verifying one session.
type Report struct {
	Session string `json:"session"`
	Status  Status `json:"status"`
	// Records is the number of records that verified.
	Records uint64 `json:"records"`
	// Seq is the sequence number of the first bad record, when broken.
	Seq uint64 `json:"seq,omitempty"`
	// Problem says what is wrong with it.
	Problem string `json:"problem,omitempty"`
}

func (r Report) String() string {
	switch r.Status {
	case StatusBroken:
		return fmt.Sprintf("%s  BROKEN at seq %d: %s", r.Session, r.Seq, r.Problem)
	case StatusUnsealed:
		return fmt.Sprintf("%s  unsealed (%d records, chain intact; live or cut by a crash)", r.Session, r.Records)
	}
	return fmt.Sprintf("%s  sealed (%d records)", r.Session, r.Records)
}

// Chain verifies a session's records as they are fed to it, in stored order.
// Add decodes each record; the first problem stops the chain.
type Chain struct {
	id     string
	keys   []ed25519.PublicKey
	prev   [HashSize]byte
	report Report
	ended  bool

	// A hash mismatch at record k means record k-1 was altered, or record k's
	// own prev was. The record after k tells which: if it chains to k, k is
	// intact and k-1 was altered. suspect holds k and its hash until then.
	suspect     uint64
	suspectHash [HashSize]byte
}

// NewChain starts verifying session id with the keys that may have sealed it.
func NewChain(id string, keys ...ed25519.PublicKey) *Chain {
	return &Chain{id: id, keys: keys, prev: GenesisHash(id), report: Report{Session: id, Status: StatusUnsealed}}
}

// Add checks the record stored under seq and returns its event. After an
// error the chain is broken and Add keeps returning it.
//
// Keep adding the records after a broken one: the next record tells which of
// two records around a hash mismatch was altered.
func (c *Chain) Add(seq uint64, data []byte) (*Event, error) {
	if c.report.Status == StatusBroken {
		if c.suspect != 0 && seq == c.suspect+1 {
			if rec, err := ParseRecord(data); err == nil && rec.Prev == c.suspectHash {
				c.report.Seq = c.suspect - 1
				c.report.Problem = fmt.Sprintf("record %d was altered: its hash is not what record %d chains to", c.suspect-1, c.suspect)
			} else {
				c.report.Seq = c.suspect
				c.report.Problem = fmt.Sprintf("record %d was altered: it does not chain to record %d, and record %d does not chain to it", c.suspect, c.suspect-1, c.suspect+1)
			}
			c.suspect = 0
		}
		return nil, fmt.Errorf("%s", c.report.Problem)
	}
	ev, err := c.add(seq, data)
	if err != nil {
		c.report.Status = StatusBroken
		c.report.Seq = seq
		c.report.Problem = err.Error()
		if errors.Is(err, errChain) {
			// Until the next record says otherwise, blame the earlier one: an
			// edit of a record's content is the likelier alteration.
			c.report.Seq = seq - 1
			c.report.Problem = fmt.Sprintf("record %d was altered: its hash is not what record %d chains to", seq-1, seq)
			if rec, perr := ParseRecord(data); perr == nil {
				c.suspect, c.suspectHash = seq, rec.Hash()
			}
		}
		return nil, err
	}
	c.report.Records++
	return ev, nil
}

var errChain = errors.New("hash chain broken")

func (c *Chain) add(seq uint64, data []byte) (*Event, error) {
	want := c.report.Records + 1
	if seq != want {
		return nil, fmt.Errorf("record %d is missing (next stored is %d)", want, seq)
	}
	if c.ended {
		return nil, fmt.Errorf("record after session.end")
	}
	rec, err := ParseRecord(data)
	if err != nil {
		return nil, err
	}
	if rec.Seq != seq {
		return nil, fmt.Errorf("record says seq %d, stored as %d", rec.Seq, seq)
	}
	if rec.Prev != c.prev {
		return nil, fmt.Errorf("%w: record %d does not chain to record %d", errChain, seq, seq-1)
	}
	h := rec.Hash()
	switch {
	case seq == 1 && rec.Kind != KindStart:
		return nil, fmt.Errorf("first record is %s, want %s", rec.Kind, KindStart)
	case seq == 1:
		var info Info
		if err := json.Unmarshal(rec.Payload, &info); err != nil || info.ID != c.id {
			return nil, fmt.Errorf("session.start names session %q", info.ID)
		}
	case rec.Kind == KindStart:
		return nil, fmt.Errorf("second %s", KindStart)
	}
	if rec.Kind == KindEnd {
		if !c.sealed(h[:], rec.Sig) {
			return nil, fmt.Errorf("seal does not verify with the broker's key")
		}
		c.ended = true
		c.report.Status = StatusSealed
	} else if len(rec.Sig) != 0 {
		return nil, fmt.Errorf("signature on a %s record", rec.Kind)
	}
	c.prev = h
	return &Event{
		Session: c.id,
		Seq:     rec.Seq,
		Time:    rec.Time,
		Kind:    rec.Kind,
		Payload: bytes.Clone(rec.Payload),
		Meta:    bytes.Clone(rec.Meta),
	}, nil
}

func (c *Chain) sealed(hash, sig []byte) bool {
	for _, k := range c.keys {
		if len(sig) == ed25519.SignatureSize && ed25519.Verify(k, hash, sig) {
			return true
		}
	}
	return false
}

// Report is the verification result so far.
func (c *Chain) Report() Report { return c.report }
