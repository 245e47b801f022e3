// Package storetest alters a stopped broker's store behind its back, for tests
// that prove verification notices. Nothing in the broker or the CLI imports it.
package storetest

import (
	"encoding/binary"
	"fmt"

	bolt "go.etcd.io/bbolt"
)

// Rewrite replaces the stored bytes of one record of a session with what fn
// returns for them. The store at path must not be open elsewhere.
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
		var k [8]byte
		binary.BigEndian.PutUint64(k[:], seq)
		v := b.Get(k[:])
		if v == nil {
			return fmt.Errorf("session %s: no record %d", session, seq)
		}
		return b.Put(k[:], fn(append([]byte(nil), v...)))
	})
}
