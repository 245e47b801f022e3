package session_test

import (
	"testing"

	"github.com/hoophq/hoop/session"
)

// BenchmarkCommand is the recorder's cost per forwarded statement: a durable
// command and an asynchronous result, from parallel sessions.
func BenchmarkCommand(b *testing.B) {
	rec, _, _, _ := newRecorder(b)
	b.SetParallelism(4)
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		s, err := rec.Start(session.Info{Connection: "bench", Protocol: "postgres"}, false)
		if err != nil {
			b.Error(err)
			return
		}
		cmd := &session.Command{Type: "query", Text: "SELECT abalance FROM pgbench_accounts WHERE aid = 48213;"}
		v := "4821"
		res := &session.Result{Columns: []session.Column{{Name: "abalance", Type: "int4"}}, Rows: [][]session.Value{{&v}}, RowCount: 1, Tag: "SELECT 1"}
		for pb.Next() {
			seq, err := s.Command(cmd)
			if err != nil {
				b.Error(err)
				return
			}
			res.Command = seq
			s.Result(res)
		}
		s.End(session.OutcomeOK, "")
	})
}
