package postgres

import "time"

// opKind is a client message that the server answers.
type opKind uint8

const (
	opQuery        opKind = iota + 1 // answered by results, then ReadyForQuery
	opParse                          // ParseComplete
	opBind                           // BindComplete
	opDescribe                       // [ParameterDescription] RowDescription or NoData
	opExecute                        // rows, then CommandComplete, EmptyQueryResponse or PortalSuspended
	opClose                          // CloseComplete
	opSync                           // ReadyForQuery
	opFunctionCall                   // FunctionCallResponse, then ReadyForQuery
)

// endsWithReady reports whether the server's answer to the op ends with
// ReadyForQuery.
func (k opKind) endsWithReady() bool { return k == opQuery || k == opSync || k == opFunctionCall }

// extended reports whether the op belongs to the extended query protocol,
// where an error makes the server discard messages until Sync.
func (k opKind) extended() bool { return !k.endsWithReady() }

// mapsObjects reports whether the op creates or drops a statement or portal.
func (k opKind) mapsObjects() bool { return k == opParse || k == opBind || k == opClose }

// An op is one client message the server will answer, queued in the order it
// was forwarded.
type op struct {
	kind opKind
	// seq is the command event the op's results answer (query, execute,
	// function call); for a sync, the last execute before it, so that an error
	// raised at Sync (a deferred constraint at the implicit commit) is
	// attributed to it.
	seq uint64
	// sent is when the op was forwarded, for the result's duration.
	sent time.Time
	// batch counts the Syncs the client sent before this op.
	batch uint64

	stmt   *statement // parse; describe or close of a statement
	portal *portal    // bind; describe or close of a portal; execute
	name   string     // close: the statement or portal name
	target byte       // describe, close: 'S' or 'P'

	// copyIn counts the client's COPY data for a query or execute.
	copyIn *copyIn
	// effects are the statement's PREPARE / DEALLOCATE / DISCARD ALL, applied
	// when the server confirms them (query, execute).
	effects []preparedEffect
	// resultFormat is the function call's result format.
	resultFormat int16
}

// queue is the FIFO of ops the server has yet to answer. The relay's mutex
// guards it.
type queue struct {
	ops  []*op
	head int
}

func (q *queue) push(o *op) { q.ops = append(q.ops, o) }

func (q *queue) len() int { return len(q.ops) - q.head }

func (q *queue) peek() *op {
	if q.head < len(q.ops) {
		return q.ops[q.head]
	}
	return nil
}

func (q *queue) pop() *op {
	o := q.peek()
	if o == nil {
		return nil
	}
	q.ops[q.head] = nil
	q.head++
	if q.head == len(q.ops) {
		q.ops, q.head = q.ops[:0], 0
	} else if q.head > 64 && q.head*2 > len(q.ops) {
		n := copy(q.ops, q.ops[q.head:])
		clear(q.ops[n:])
		q.ops, q.head = q.ops[:n], 0
	}
	return o
}

// unresolvedBefore reports whether an op that creates or drops a statement or
// portal and was sent before batch is still unanswered.
func (q *queue) unresolvedBefore(batch uint64) bool {
	for _, o := range q.ops[q.head:] {
		if o.batch >= batch {
			return false
		}
		if o.kind.mapsObjects() {
			return true
		}
	}
	return false
}
