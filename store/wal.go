package store

import (
	"bufio"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
)

// The write-ahead log makes a commit durable with one write (and, when asked,
// one fdatasync) of every record in the batch, in order, so the hot path never
// waits for bbolt. bbolt is brought up to date from memory in larger batches
// (see apply.go); on Open, whatever the log holds that bbolt doesn't is
// replayed. The log is a series of segment files, wal/<n>.log; a segment is
// removed once bbolt holds all of it, fsync'd.
//
// An entry is:
//
//	u32  length of what follows the checksum
//	u32  CRC-32C of what follows the checksum
//	u8   type: 1 record, 2 index entry
//	u16  session id length, session id
//	u64  seq (records; 0 for index entries)
//	...  data (the framed record, or the index entry's JSON)
//
// A torn or corrupt entry (a crash during a write, or power loss) ends the log:
// replay stops there and the segment is truncated to what was whole.
const (
	walDir         = "wal"
	walSegmentSize = 16 << 20
	entryRecord    = 1
	entryIndex     = 2
	entryHeader    = 8
	maxEntry       = 1 << 30
)

var crcTable = crc32.MakeTable(crc32.Castagnoli)

type wal struct {
	dir  string
	f    *os.File
	seg  uint64 // current segment number
	size int64
	buf  []byte
}

func walPath(dir string, seg uint64) string {
	return filepath.Join(dir, strconv.FormatUint(seg, 10)+".log")
}

// walSegments lists the segment numbers in dir, ascending.
func walSegments(dir string) ([]uint64, error) {
	ents, err := os.ReadDir(dir)
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	var segs []uint64
	for _, e := range ents {
		n, ok := strings.CutSuffix(e.Name(), ".log")
		if !ok {
			continue
		}
		if v, err := strconv.ParseUint(n, 10, 64); err == nil {
			segs = append(segs, v)
		}
	}
	slices.Sort(segs)
	return segs, nil
}

// openWAL starts a new segment after the existing ones.
func openWAL(dir string, after uint64) (*wal, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, err
	}
	w := &wal{dir: dir, seg: after}
	return w, w.rotate()
}

func (w *wal) rotate() error {
	if w.f != nil {
		if err := w.f.Sync(); err != nil {
			return err
		}
		if err := w.f.Close(); err != nil {
			return err
		}
	}
	w.seg++
	f, err := os.OpenFile(walPath(w.dir, w.seg), os.O_CREATE|os.O_EXCL|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		return err
	}
	w.f, w.size = f, 0
	return syncDir(w.dir)
}

// append writes the batch as one write and returns the segment it went to.
func (w *wal) append(b *Batch) (uint64, error) {
	if w.size >= walSegmentSize {
		if err := w.rotate(); err != nil {
			return 0, err
		}
	}
	buf := w.buf[:0]
	for _, r := range b.Records {
		buf = appendEntry(buf, entryRecord, r.Session, r.Seq, r.Data)
	}
	for _, e := range b.Entries {
		buf = appendEntry(buf, entryIndex, e.ID, 0, e.Data)
	}
	w.buf = buf
	if _, err := w.f.Write(buf); err != nil {
		return 0, err
	}
	w.size += int64(len(buf))
	if cap(w.buf) > 4<<20 {
		w.buf = nil // don't keep a huge buffer after a huge batch
	}
	return w.seg, nil
}

func (w *wal) sync() error { return w.f.Sync() }

func (w *wal) close() error { return w.f.Close() }

func appendEntry(dst []byte, typ byte, id string, seq uint64, data []byte) []byte {
	n := 1 + 2 + len(id) + 8 + len(data)
	start := len(dst)
	dst = binary.BigEndian.AppendUint32(dst, uint32(n))
	dst = binary.BigEndian.AppendUint32(dst, 0) // checksum, below
	dst = append(dst, typ)
	dst = binary.BigEndian.AppendUint16(dst, uint16(len(id)))
	dst = append(dst, id...)
	dst = binary.BigEndian.AppendUint64(dst, seq)
	dst = append(dst, data...)
	binary.BigEndian.PutUint32(dst[start+4:], crc32.Checksum(dst[start+entryHeader:], crcTable))
	return dst
}

// readSegment calls fn for each whole entry of a segment and returns the
// length of the whole prefix; a torn tail is not an error.
func readSegment(path string, fn func(typ byte, id string, seq uint64, data []byte) error) (int64, error) {
	f, err := os.Open(path)
	if err != nil {
		return 0, err
	}
	defer f.Close()
	n, err := readEntries(bufio.NewReaderSize(f, 1<<20), fn)
	if err != nil {
		err = fmt.Errorf("%s: %w", path, err)
	}
	return n, err
}

// readEntries is readSegment over a reader.
func readEntries(r io.Reader, fn func(typ byte, id string, seq uint64, data []byte) error) (int64, error) {
	var (
		good int64
		hdr  [entryHeader]byte
		body []byte
	)
	for {
		if _, err := io.ReadFull(r, hdr[:]); err != nil {
			return good, nil // end, or a torn header
		}
		n := binary.BigEndian.Uint32(hdr[:4])
		if n < 11 || n > maxEntry {
			return good, nil
		}
		body = slices.Grow(body[:0], int(n))[:n]
		if _, err := io.ReadFull(r, body); err != nil {
			return good, nil
		}
		if crc32.Checksum(body, crcTable) != binary.BigEndian.Uint32(hdr[4:]) {
			return good, nil
		}
		typ := body[0]
		idLen := int(binary.BigEndian.Uint16(body[1:3]))
		if 3+idLen+8 > len(body) || (typ != entryRecord && typ != entryIndex) {
			return good, fmt.Errorf("malformed entry at offset %d", good)
		}
		id := string(body[3 : 3+idLen])
		seq := binary.BigEndian.Uint64(body[3+idLen:])
		if err := fn(typ, id, seq, body[3+idLen+8:]); err != nil {
			return good, err
		}
		good += int64(entryHeader) + int64(n)
	}
}

func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	return d.Sync()
}
