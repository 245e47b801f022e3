// Package storetest alters a stopped broker's store behind its back, for tests
// that prove verification notices. Nothing in the broker or the CLI imports it.
package storetest

import (
	"encoding/binary"
	"fmt"

	bolt "go.etcd.io/bbolt"

	"github.com/hoophq/hoop/store/internal/chunk"
)

// Rewrite replaces the stored bytes of one record of a session with what fn
// returns for them. The store at path must not be open elsewhere, and must
// have been closed cleanly (its log applied).
func Rewrite(path, session string, seq uint64, fn func([]byte) []byte) error {
	db, err := bolt.Open(path, 0o600, nil)
	if err != nil {
		return err
	}
	defer db.Close()
	return db.Update(func(tx *bolt.Tx) error {
		b := tx.Bucket([]byte("records")).Bucket([]byte(session))
		if b == nil {
			return fmt.Errorf("session %s: no records", session)
		}
		// The chunk holding seq is the last one keyed at or before it.
		c := b.Cursor()
		var key, val []byte
		for k, v := c.First(); k != nil && binary.BigEndian.Uint64(k) <= seq; k, v = c.Next() {
			key, val = k, v
		}
		if key == nil {
			return fmt.Errorf("session %s: no record %d", session, seq)
		}
		first := binary.BigEndian.Uint64(key)
		var out []byte
		found := false
		err := chunk.Each(val, func(i int, rec []byte) bool {
			if first+uint64(i) == seq {
				rec, found = fn(append([]byte(nil), rec...)), true
			}
			out = chunk.Append(out, rec)
			return true
		})
		if err != nil {
			return err
		}
		if !found {
			return fmt.Errorf("session %s: no record %d", session, seq)
		}
		return b.Put(append([]byte(nil), key...), out)
	})
}
