// Package chunk is how the store packs a run of consecutive records of one
// session into a single bbolt value: each record as a big-endian u32 length
// and its bytes. One Put per session per apply, instead of one per record,
// keeps bbolt's cost per record small.
package chunk

import (
	"encoding/binary"
	"fmt"
)

// Append adds one record to a chunk.
func Append(dst, rec []byte) []byte {
	dst = binary.BigEndian.AppendUint32(dst, uint32(len(rec)))
	return append(dst, rec...)
}

// Size is what Append adds for a record of n bytes.
func Size(n int) int { return 4 + n }

// Each calls fn for each record of the chunk, in order, with its index, until
// fn returns false. The record aliases v.
func Each(v []byte, fn func(i int, rec []byte) bool) error {
	for i, off := 0, 0; off < len(v); i++ {
		if len(v)-off < 4 {
			return fmt.Errorf("malformed chunk: %d stray bytes at offset %d", len(v)-off, off)
		}
		n := int(binary.BigEndian.Uint32(v[off:]))
		off += 4
		if n > len(v)-off {
			return fmt.Errorf("malformed chunk: record %d of %d bytes overruns it at offset %d", i, n, off)
		}
		if !fn(i, v[off:off+n:off+n]) {
			return nil
		}
		off += n
	}
	return nil
}

// Count is the number of records in a chunk.
func Count(v []byte) (int, error) {
	n := 0
	err := Each(v, func(int, []byte) bool { n++; return true })
	return n, err
}
