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
	dir    string
	f      *os.File
	m      []byte // the current segment, mapped shared: a copy into it is in the page cache
	seg    uint64 // current segment number
	off    int    // bytes of m in use
	synced int    // bytes of m known to be on stable storage
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
	return w, w.rotate(0)
}

// rotate closes the current segment (synced) and maps a new one of at least
// need bytes. Its blocks are allocated up front, so that running out of disk
// is an error here rather than a SIGBUS on a later copy.
func (w *wal) rotate(need int) error {
	if w.f != nil {
		if err := w.sync(); err != nil {
			return err
		}
		if err := w.close(); err != nil {
			return err
		}
	}
	w.seg++
	size := max(walSegmentSize, (need+pageSize-1)/pageSize*pageSize)
	f, err := os.OpenFile(walPath(w.dir, w.seg), os.O_CREATE|os.O_EXCL|os.O_RDWR, 0o600)
	if err != nil {
		return err
	}
	m, err := mapSegment(f, size)
	if err != nil {
		f.Close()
		os.Remove(f.Name())
		return err
	}
	w.f, w.m, w.off, w.synced = f, m, 0, 0
	return syncDir(w.dir)
}

// append copies the batch into the mapped segment and returns the segment it
// went to. No system call: the bytes are in the page cache once copied, which
// survives a crash of the process; sync makes them survive power loss.
func (w *wal) append(b *Batch) (uint64, error) {
	size := 0
	for _, r := range b.Records {
		size += entrySize(r.Session, r.Data)
	}
	for _, e := range b.Entries {
		size += entrySize(e.ID, e.Data)
	}
	if w.off+size > len(w.m) {
		if err := w.rotate(size); err != nil {
			return 0, err
		}
	}
	buf := w.m[w.off:w.off:len(w.m)] // appendEntry writes in place: the capacity suffices
	for _, r := range b.Records {
		buf = appendEntry(buf, entryRecord, r.Session, r.Seq, r.Data)
	}
	for _, e := range b.Entries {
		buf = appendEntry(buf, entryIndex, e.ID, 0, e.Data)
	}
	w.off += len(buf)
	return w.seg, nil
}

// sync writes the segment's unsynced bytes to stable storage.
func (w *wal) sync() error {
	if w.synced == w.off {
		return nil
	}
	from := w.synced / pageSize * pageSize
	if err := msync(w.m[from:w.off]); err != nil {
		return err
	}
	w.synced = w.off
	return nil
}

func (w *wal) close() error {
	err := unmap(w.m)
	if cerr := w.f.Close(); err == nil {
		err = cerr
	}
	w.m, w.f = nil, nil
	return err
}

func entrySize(id string, data []byte) int { return entryHeader + 1 + 2 + len(id) + 8 + len(data) }

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
