package session

import (
	"encoding/json"

	"github.com/hoophq/hoop/store"
)

// Index is the part of a store that lists sessions.
type Index interface {
	Sessions(fn func(e store.Entry) bool) error
	Commit(b *store.Batch, fsync bool) error
}

// MarkCut marks the index entries of sessions that this broker started and
// never ended (it was killed or crashed) as killed. Their records are left as
// they are: they verify as unsealed with an intact chain. It returns how many
// it marked. Call it before the recorder starts.
func MarkCut(st Index, brokerID string) (int, error) {
	var b store.Batch
	err := st.Sessions(func(e store.Entry) bool {
		var info Info
		if json.Unmarshal(e.Data, &info) != nil || info.Outcome != "" || info.BrokerID != brokerID {
			return true
		}
		info.Outcome = OutcomeKilled
		info.Reason = "cut: the broker stopped before the session ended (unsealed)"
		data, _ := json.Marshal(&info)
		b.Entries = append(b.Entries, store.Entry{ID: e.ID, Data: data})
		return true
	})
	if err != nil || len(b.Entries) == 0 {
		return 0, err
	}
	return len(b.Entries), st.Commit(&b, true)
}
