package postgres

import (
	"errors"

	"github.com/jackc/pgx/v5/pgproto3"

	"github.com/hoophq/hoop/broker"
)

// refuse answers a command that Session.Command did not allow; it was not
// forwarded.
//
// A policy denial (*broker.DeniedError, already recorded by the broker) is an
// ERROR 42501 and the session goes on. To keep answers in order behind
// pipelined messages, the server is asked to flush and every queued op is
// answered first. For a simple query or a function call the broker then sends
// ReadyForQuery with the server's last transaction status; in the extended
// protocol it discards the client's messages until Sync, which it forwards so
// that the server's ReadyForQuery answers it — as the server does after an
// error. If the server is already skipping to Sync after an error of its own,
// the client gets no second error, as it would from the server.
//
// Anything else — the command could not be recorded (*session.StoreError),
// the recorder is closed — is FATAL 58030: nothing runs unrecorded, and the
// session ends.
func (r *relay) refuse(err error, extended bool) error {
	var denied *broker.DeniedError
	if !errors.As(err, &denied) {
		pe := fatalf(codeIOError, "hoop: the session can't be recorded; command refused").wrap(err)
		r.writeClient(pe.encode(nil))
		return &directionError{Dir: "client->upstream", Err: pe}
	}
	r.mu.Lock()
	busy := r.queue.len() > 0
	r.mu.Unlock()
	if busy {
		if _, err := r.uw.Write(msgFlush); err != nil {
			return r.upstreamWriteError(err)
		}
		if err := r.flushUpstream(); err != nil {
			return err
		}
		if err := r.waitIdle(); err != nil {
			return err
		}
	}
	r.mu.Lock()
	tx, skipping := r.txStatus, r.failedBatch
	r.mu.Unlock()
	var out []byte
	if !extended || !skipping {
		out = (&pgError{Severity: severityError, Code: codeInsufficientPriv, Message: denied.Message}).encode(out)
	}
	if !extended {
		out, _ = (&pgproto3.ReadyForQuery{TxStatus: tx}).Encode(out)
	}
	if err := r.writeClient(out); err != nil {
		return &directionError{Dir: "upstream->client", Err: errClientGone}
	}
	r.front.skipping = extended
	return nil
}
