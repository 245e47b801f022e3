package store

import (
	"bytes"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"testing"
	"time"
)

func batch(session string, from, n int) *Batch {
	b := &Batch{Entries: []Entry{{ID: session, Data: []byte(fmt.Sprintf(`{"n":%d}`, from+n))}}}
	for i := from; i < from+n; i++ {
		b.Records = append(b.Records, Record{Session: session, Seq: uint64(i), Data: []byte(fmt.Sprintf("record %d of %s", i, session))})
	}
	return b
}

func count(t *testing.T, s *Bolt, session string) int {
	t.Helper()
	n := 0
	if err := s.Records(session, 0, func(r Record) bool {
		if want := fmt.Sprintf("record %d of %s", r.Seq, session); string(r.Data) != want {
			t.Fatalf("record %d = %q; want %q", r.Seq, r.Data, want)
		}
		n++
		return true
	}); err != nil {
		t.Fatal(err)
	}
	return n
}

// A read right after a commit sees it, though bbolt is applied later.
func TestReadAfterCommit(t *testing.T) {
	s, err := Open(filepath.Join(t.TempDir(), "events.db"), Options{ApplyDelay: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	for i := range 10 {
		if err := s.Commit(batch("a", 1+i*5, 5), i%2 == 0); err != nil {
			t.Fatal(err)
		}
		if got := count(t, s, "a"); got != (i+1)*5 {
			t.Fatalf("after commit %d: %d records; want %d", i, got, (i+1)*5)
		}
	}
	e, err := s.Session("a")
	if err != nil || string(e.Data) != `{"n":51}` {
		t.Fatalf("index entry %q, %v", e.Data, err)
	}
}

// copyStore copies a store's files as they are on disk: what a kill -9 leaves.
func copyStore(t *testing.T, from, to string) {
	t.Helper()
	filepath.Walk(from, func(p string, fi os.FileInfo, err error) error {
		if err != nil {
			t.Fatal(err)
		}
		rel, _ := filepath.Rel(from, p)
		dst := filepath.Join(to, rel)
		if fi.IsDir() {
			return os.MkdirAll(dst, 0o700)
		}
		in, _ := os.Open(p)
		defer in.Close()
		out, _ := os.Create(dst)
		defer out.Close()
		_, err = io.Copy(out, in)
		return err
	})
}

// A crash before the log is applied loses nothing: Open replays it, and a
// torn entry at its end (a crash mid-write) is dropped.
func TestRecoverLog(t *testing.T) {
	dir := t.TempDir()
	s, err := Open(filepath.Join(dir, "live", "events.db"), Options{ApplyDelay: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	s.Commit(batch("a", 1, 3), false)
	count(t, s, "a") // applied: records 1-3 are in bbolt, the rest only in the log
	for i := range 20 {
		if err := s.Commit(batch("b", 1+i*10, 10), false); err != nil {
			t.Fatal(err)
		}
	}
	s.Commit(batch("a", 4, 2), false)
	copyStore(t, filepath.Join(dir, "live"), filepath.Join(dir, "crashed"))

	// A torn entry right after the last whole one.
	segs, _ := walSegments(filepath.Join(dir, "crashed", "events.db.wal"))
	last := walPath(filepath.Join(dir, "crashed", "events.db.wal"), segs[len(segs)-1])
	good, err := readSegment(last, func(byte, string, uint64, []byte) error { return nil })
	if err != nil || good == 0 {
		t.Fatalf("last segment: %d whole bytes, %v", good, err)
	}
	f, _ := os.OpenFile(last, os.O_WRONLY, 0)
	f.WriteAt(appendEntry(nil, entryRecord, "b", 999, []byte("torn"))[:20], good)
	f.Close()

	r, err := Open(filepath.Join(dir, "crashed", "events.db"), Options{ReadOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	if got := count(t, r, "b"); got != 200 {
		t.Errorf("session b: %d records after recovery; want 200", got)
	}
	if got := count(t, r, "a"); got != 5 {
		t.Errorf("session a: %d records after recovery; want 5", got)
	}
	if segs, _ := walSegments(filepath.Join(dir, "crashed", "events.db.wal")); len(segs) != 0 {
		t.Errorf("log segments %v left after recovery", segs)
	}
}

// Close applies and removes the log.
func TestCloseAppliesLog(t *testing.T) {
	path := filepath.Join(t.TempDir(), "events.db")
	s, err := Open(path, Options{ApplyDelay: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	s.Commit(batch("a", 1, 7), true)
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if segs, _ := walSegments(path + ".wal"); len(segs) != 0 {
		t.Fatalf("segments %v left after Close", segs)
	}
	r, err := Open(path, Options{ReadOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	if got := count(t, r, "a"); got != 7 {
		t.Fatalf("%d records; want 7", got)
	}
}

// FuzzReadSegment: arbitrary log bytes never panic, and a written entry reads
// back whole.
func FuzzReadSegment(f *testing.F) {
	f.Add(appendEntry(nil, entryRecord, "s", 1, []byte("data")))
	f.Add(appendEntry(appendEntry(nil, entryIndex, "s", 0, []byte("{}")), entryRecord, "s", 2, nil))
	f.Add([]byte{0, 0, 0, 11, 1, 2, 3, 4})
	f.Fuzz(func(t *testing.T, b []byte) {
		var again []byte
		good, err := readEntries(bytes.NewReader(b), func(typ byte, id string, seq uint64, data []byte) error {
			again = appendEntry(again, typ, id, seq, data)
			return nil
		})
		if err == nil && !bytes.Equal(again, b[:good]) {
			t.Fatalf("re-encoded %x; want %x", again, b[:good])
		}
	})
}

// Batches larger than a segment, and many of them, rotate the log; nothing is
// lost across rotations, Close and a reopen.
func TestLogRotation(t *testing.T) {
	path := filepath.Join(t.TempDir(), "events.db")
	s, err := Open(path, Options{ApplyDelay: time.Hour, MaxPending: 1 << 30})
	if err != nil {
		t.Fatal(err)
	}
	big := bytes.Repeat([]byte("x"), 3<<20)
	for i := range 8 {
		b := &Batch{Records: []Record{{Session: "big", Seq: uint64(i + 1), Data: big}}}
		if err := s.Commit(b, i == 7); err != nil {
			t.Fatal(err)
		}
	}
	huge := &Batch{Records: []Record{{Session: "big", Seq: 9, Data: bytes.Repeat([]byte("y"), walSegmentSize+1)}}}
	if err := s.Commit(huge, false); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	r, err := Open(path, Options{ReadOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	n := 0
	r.Records("big", 0, func(rec Record) bool {
		n++
		if want := len(big); rec.Seq < 9 && len(rec.Data) != want {
			t.Errorf("record %d: %d bytes; want %d", rec.Seq, len(rec.Data), want)
		}
		return true
	})
	if n != 9 {
		t.Fatalf("%d records; want 9", n)
	}
}

// Reading from the middle of a chunk starts at the right record.
func TestRecordsAfter(t *testing.T) {
	s, err := Open(filepath.Join(t.TempDir(), "events.db"), Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	for i := range 4 {
		s.Commit(batch("c", 1+i*25, 25), false)
		count(t, s, "c") // apply: one chunk per commit
	}
	for _, after := range []uint64{0, 1, 24, 25, 26, 57, 99, 100, 150} {
		var got []uint64
		s.Records("c", after, func(r Record) bool {
			got = append(got, r.Seq)
			return true
		})
		want := int(max(0, 100-int(after)))
		if len(got) != want || (want > 0 && (got[0] != after+1 || got[len(got)-1] != 100)) {
			t.Errorf("after %d: got %d records from %v; want %d from %d", after, len(got), got[:min(len(got), 1)], want, after+1)
		}
	}
}
