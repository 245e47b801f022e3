package postgres

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"net"
	"sync"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5/pgproto3"
	"github.com/jackc/pgx/v5/pgtype"

	"github.com/hoophq/hoop/broker"
	"github.com/hoophq/hoop/config"
	"github.com/hoophq/hoop/session"
)

// errUpstreamLost: the upstream server closed the connection or failed.
var errUpstreamLost = errors.New("upstream connection lost")

// recorder is the part of broker.Session the relay uses.
type recorder interface {
	Command(c *session.Command) (uint64, error)
	Result(r *session.Result) error
	Append(kind session.Kind, payload any, durable bool) (uint64, error)
}

var _ recorder = (*broker.Session)(nil)

// A relay carries one authenticated session between the client and the
// upstream server: the frontend goroutine reads the client, records and
// forwards; the backend goroutine reads the server, records results and
// forwards.
type relay struct {
	s    recorder
	caps config.Recording
	// pids are the server's process id and the one the broker gave the client.
	pids struct{ server, client uint32 }

	client net.Conn
	cr     *framer
	cw     *bufio.Writer
	up     net.Conn
	ur     *framer
	uw     *bufio.Writer // the frontend's, until both goroutines have ended

	// cwMu serialises writes to the client. The backend holds it while it
	// handles a server message and forwards it, so that when the frontend sees
	// an op answered and takes cwMu to answer a refused command, the answer
	// is already in cw ahead of its own.
	cwMu sync.Mutex

	mu      sync.Mutex // guards the fields below and the statement/portal fields marked so
	changed *sync.Cond // broadcast when ops are answered and when the relay closes
	queue   queue
	// effects counts queued ops whose PREPARE / DEALLOCATE / DISCARD ALL are
	// not yet confirmed.
	effects  int
	closed   bool
	txStatus byte
	// failedBatch: the server reported an error in the extended protocol and
	// discards messages until Sync.
	failedBatch bool
	// stmts and portals are the server's, as confirmed by its answers.
	stmts   map[string]*statement
	portals map[string]*portal

	// upstreamFatal is the message of a FATAL the server sent, which the
	// client has then seen.
	upstreamFatal atomic.Pointer[string]
	// terminating is set by the frontend before it sends Terminate upstream
	// (the client's, or its own when the client went away): the server
	// closing the connection next is the normal end.
	terminating atomic.Bool

	front frontState
	back  backState
}

// frontState is owned by the frontend goroutine.
type frontState struct {
	types *pgtype.Map
	// batch counts the Syncs sent; stmts and portals are this batch's changes
	// to the server's (nil: closed), which hold if none of its messages fail
	// (if one does, the server skips the rest of the batch).
	batch   uint64
	stmts   map[string]*statement
	portals map[string]*portal
	// skipping: a refused extended-protocol command; messages are discarded
	// until Sync.
	skipping bool
	// lastCmd is the last query, execute or function call: COPY data belongs
	// to it.
	lastCmd *op
	// lastSeq is the last execute recorded in this batch.
	lastSeq uint64
	// analyses caches the lexer's findings by SQL text.
	analyses map[string]analysis
}

// backState is owned by the backend goroutine.
type backState struct {
	types *pgtype.Map
	cur   *resultBuilder
	// curOp is the op cur belongs to.
	curOp *op
	// lastDone is when the last result completed: the next one started no
	// earlier.
	lastDone time.Time
	rd       pgproto3.RowDescription
	dr       pgproto3.DataRow
	// rewrite, when set, may replace a DataRow before it is recorded and
	// forwarded: the seam for masking.
	rewrite rowRewriter
}

func newRelay(s recorder, caps config.Recording, client net.Conn, cr *framer, up *upstream, maxMsg int64) *relay {
	r := &relay{
		s:        s,
		caps:     caps,
		client:   client,
		cr:       cr,
		cw:       bufio.NewWriterSize(client, bufferSize),
		up:       up.conn,
		ur:       newFramer(up.conn, maxMsg),
		uw:       bufio.NewWriterSize(up.conn, bufferSize),
		txStatus: up.txStatus,
		stmts:    map[string]*statement{},
		portals:  map[string]*portal{},
	}
	r.changed = sync.NewCond(&r.mu)
	r.front = frontState{
		types:    pgtype.NewMap(),
		stmts:    map[string]*statement{},
		portals:  map[string]*portal{},
		analyses: map[string]analysis{},
	}
	r.back = backState{types: pgtype.NewMap()}
	return r
}

// run relays until either side ends or ctx is done, and returns why the
// session ended: nil for a normal end (Terminate, or the client went away).
func (r *relay) run(ctx context.Context) error {
	errc := make(chan error, 2)
	go func() { errc <- r.frontend() }()
	go func() { errc <- r.backend() }()
	var err error
	pending := 2
	select {
	case err = <-errc:
		pending--
	case <-ctx.Done():
		err = errShutdown
		r.client.SetWriteDeadline(time.Now().Add(time.Second))
		r.writeClient(fatalf(codeAdminShutdown, "hoop: the broker is shutting down").encode(nil))
	}
	fatal := r.upstreamFatal.Load()
	switch {
	case fatal != nil && (errors.Is(err, errUpstreamLost) || errors.Is(err, errClientGone) || errors.Is(err, errTerminated)):
		// The server ended the session, and the client saw why: the backend
		// stores the server's FATAL before it forwards it, so whatever the
		// client did next came after.
		err = fmt.Errorf("%w: the server said: %s", errUpstreamLost, *fatal)
	case errors.Is(err, errUpstreamLost) && r.terminating.Load():
		err = errTerminated // the server closed because it was told to
	case errors.Is(err, errUpstreamLost):
		r.client.SetWriteDeadline(time.Now().Add(time.Second))
		r.writeClient(fatalf(codeConnectionFailure, "hoop: the connection to the upstream server was lost").encode(nil))
	}
	r.close()
	for ; pending > 0; pending-- {
		<-errc
	}
	if errors.Is(err, errTerminated) || errors.Is(err, errClientGone) {
		return nil
	}
	return err
}

// close stops both goroutines: it wakes a frontend waiting for answers,
// closes the upstream connection and interrupts the client's reads and writes.
// The caller closes the client connection with lingerClose, so that a FATAL
// sent last reaches the client.
func (r *relay) close() {
	r.mu.Lock()
	r.closed = true
	r.changed.Broadcast()
	r.mu.Unlock()
	r.up.Close()
	r.client.SetDeadline(time.Now())
}

func (r *relay) isClosed() bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.closed
}

// writeClient writes b to the client and flushes, in order with the backend.
func (r *relay) writeClient(b []byte) error {
	r.cwMu.Lock()
	defer r.cwMu.Unlock()
	if _, err := r.cw.Write(b); err != nil {
		return err
	}
	return r.cw.Flush()
}
