package postgres

import (
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5/pgproto3"

	"github.com/hoophq/hoop/session"
)

// A rowRewriter may rewrite the values of a DataRow before it is recorded and
// forwarded to the client: the client and the recording both get what it
// returns. fields describe the columns when known (nil otherwise); values
// alias the message buffer and must not be kept. It is the seam where masking
// plugs in; the relay has none yet.
type rowRewriter func(fields []field, values [][]byte) (out [][]byte, changed bool)

// backend relays server messages to the client until either side closes. It
// decodes what it needs to attribute answers to the queued ops and to record
// results.
func (r *relay) backend() error {
	for {
		msg, err := r.ur.Next()
		if err != nil {
			return r.upstreamReadError(err)
		}
		r.cwMu.Lock()
		out, err := r.fromServer(msg)
		if err == nil && out != nil {
			if _, werr := r.cw.Write(out); werr != nil {
				err = r.clientWriteError(werr)
			}
		}
		if err == nil && r.ur.Buffered() == 0 {
			if werr := r.cw.Flush(); werr != nil {
				err = r.clientWriteError(werr)
			}
		}
		r.cwMu.Unlock()
		if err != nil {
			return err
		}
	}
}

func (r *relay) upstreamReadError(err error) error {
	var fe *frameError
	if errors.As(err, &fe) && !r.isClosed() {
		pe := fatalf(codeProtocolViolation, "hoop: invalid message from the upstream server").wrap(err)
		r.writeClient(pe.encode(nil))
		return &directionError{Dir: "upstream->client", Err: pe}
	}
	return &directionError{Dir: "upstream->client", Err: fmt.Errorf("%w: %v", errUpstreamLost, err)}
}

func (r *relay) clientWriteError(err error) error {
	return &directionError{Dir: "upstream->client", Err: fmt.Errorf("%w: %v", errClientGone, err)}
}

// fromServer handles one server message, with r.cwMu held, and returns the
// bytes to forward (nil: none).
func (r *relay) fromServer(msg []byte) ([]byte, error) {
	t, body := msg[0], msg[5:]
	out := msg
	var err error
	switch t {
	case 'D':
		out, err = r.dataRow(msg, body)
	case 'T':
		err = r.rowDescription(body)
	case 'C':
		var cc pgproto3.CommandComplete
		if err = cc.Decode(body); err == nil {
			r.complete(string(cc.CommandTag))
		}
	case 'I': // EmptyQueryResponse
		r.complete("")
	case 's': // PortalSuspended
		r.complete("")
	case 'E':
		err = r.errorResponse(body)
	case 'N':
		err = r.notice(body)
	case 'A':
		out, err = r.notification(msg, body)
	case 't':
		err = r.parameterDescription(body)
	case '1': // ParseComplete
		r.answered(opParse, nil)
	case '2': // BindComplete
		r.answered(opBind, nil)
	case '3': // CloseComplete
		r.answered(opClose, nil)
	case 'n': // NoData
		r.answered(opDescribe, nil)
	case 'G': // CopyInResponse
		r.copyResponse(copyDirIn)
	case 'H', 'W': // CopyOutResponse, CopyBothResponse
		r.copyResponse(copyDirOut)
	case 'd': // CopyData
		if b := r.back.cur; b != nil && b.copyDir == copyDirOut {
			b.copyOut.add(body, int64(r.caps.MaxBytes))
		}
	case 'c', 'S': // CopyDone, ParameterStatus
	case 'Z':
		err = r.readyForQuery(body)
	case 'V':
		err = r.functionCallResponse(body)
	case 'K':
		// BackendKeyData: the client has the broker's key, never the server's.
		return nil, nil
	default:
		err = fmt.Errorf("unexpected message type %q", t)
	}
	if err != nil {
		pe := fatalf(codeProtocolViolation, "hoop: invalid message from the upstream server").wrap(err)
		r.cw.Write(pe.encode(nil))
		r.cw.Flush()
		return nil, &directionError{Dir: "upstream->client", Err: pe}
	}
	return out, nil
}

// head is the op the server is answering.
func (r *relay) head() *op {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.queue.peek()
}

// result returns the result being built for o, starting one if needed. A
// result starts no earlier than the one before it completed: pipelined
// commands wait for each other.
func (r *relay) result(o *op) *resultBuilder {
	if r.back.cur != nil && r.back.curOp == o {
		return r.back.cur
	}
	start := o.sent
	if r.back.lastDone.After(start) {
		start = r.back.lastDone
	}
	r.back.cur, r.back.curOp = newResult(o.seq, start, r.caps), o
	if o.kind == opExecute && o.portal != nil {
		if fields := r.portalFields(o.portal); fields != nil {
			r.back.cur.setFields(r.back.types, fields)
		}
	}
	return r.back.cur
}

// emit records the result being built.
func (r *relay) emit() {
	b := r.back.cur
	if b == nil {
		return
	}
	now := time.Now()
	r.s.Result(b.finish(now)) // a failed append fails the session closed: its next command is refused
	r.back.cur, r.back.curOp, r.back.lastDone = nil, nil, now
}

// portalFields are the columns an execute of p returns: from Describe of the
// portal, else of its statement with the Bind's result formats.
func (r *relay) portalFields(p *portal) []field {
	r.mu.Lock()
	defer r.mu.Unlock()
	if p.fields != nil {
		return p.fields
	}
	if p.stmt == nil || p.stmt.fields == nil {
		return nil
	}
	out := make([]field, len(p.stmt.fields))
	for i, f := range p.stmt.fields {
		f.format = formatAt(p.resultFormats, i)
		out[i] = f
	}
	return out
}

func (r *relay) rowDescription(body []byte) error {
	if err := r.back.rd.Decode(body); err != nil {
		return err
	}
	fields := make([]field, len(r.back.rd.Fields))
	for i, f := range r.back.rd.Fields {
		fields[i] = field{name: string(f.Name), oid: f.DataTypeOID, format: f.Format}
	}
	o := r.head()
	if o == nil {
		return nil
	}
	switch o.kind {
	case opDescribe:
		r.answered(opDescribe, func() {
			if o.stmt != nil && o.target == 'S' {
				o.stmt.fields = fields
			} else if o.portal != nil {
				o.portal.fields = fields
			}
		})
	case opQuery, opExecute:
		r.result(o).setFields(r.back.types, fields)
	}
	return nil
}

// dataRow records a row of the current result and returns the message to
// forward: the one place where rows pass, and may be rewritten.
func (r *relay) dataRow(msg, body []byte) ([]byte, error) {
	o := r.head()
	if o == nil || (o.kind != opQuery && o.kind != opExecute) {
		return msg, nil
	}
	b := r.result(o)
	if b.full() && r.back.rewrite == nil {
		b.res.RowCount++ // the caps are reached: count without decoding
		return msg, nil
	}
	err := r.back.dr.Decode(body)
	if err != nil {
		return nil, err
	}
	values := r.back.dr.Values
	if r.back.rewrite != nil {
		if out, changed := r.back.rewrite(b.fields, values); changed {
			values = out
			if msg, err = (&pgproto3.DataRow{Values: values}).Encode(nil); err != nil {
				return nil, err
			}
		}
	}
	b.row(r.back.types, values)
	return msg, nil
}

// complete handles CommandComplete, EmptyQueryResponse and PortalSuspended:
// one statement's result is complete.
func (r *relay) complete(tag string) {
	o := r.head()
	if o == nil || (o.kind != opQuery && o.kind != opExecute) {
		return
	}
	b := r.result(o)
	b.res.Tag = tag
	if b.copyDir == copyDirIn && o.copyIn != nil {
		b.res.Copy = o.copyIn.take()
	}
	r.applyEffect(o, tag)
	r.emit()
	if o.kind == opExecute {
		r.answered(opExecute, nil)
	}
}

func (r *relay) copyResponse(dir string) {
	if o := r.head(); o != nil && (o.kind == opQuery || o.kind == opExecute) {
		r.result(o).copyDir = dir
	}
}

func (r *relay) errorResponse(body []byte) error {
	var e pgproto3.ErrorResponse
	if err := e.Decode(body); err != nil {
		return err
	}
	se := sessionError(&e)
	if se.Severity == "FATAL" || se.Severity == "PANIC" {
		msg := se.Message
		r.upstreamFatal.Store(&msg)
	}
	o := r.head()
	switch {
	case o == nil:
		r.s.Append(session.KindError, se, false)
	case o.kind == opQuery || o.kind == opFunctionCall:
		r.failed(o, se)
	case o.kind == opSync:
		// Raised at Sync: the implicit commit of the batch failed.
		r.s.Result(&session.Result{Command: o.seq, Error: se})
	default:
		// The extended protocol: the op failed and the server skips to Sync.
		// An error of a Parse, Bind or Describe is the error of the first
		// execute it prevented (if none, of no command).
		if o.kind == opExecute {
			r.failed(o, se)
			se = nil
		}
		var results []*session.Result // recorded once r.mu is released
		r.mu.Lock()
		r.pop()
		if o.kind == opParse && o.stmt != nil && o.stmt.name == "" {
			// The server dropped the unnamed statement before parsing.
			delete(r.stmts, "")
		}
		for h := r.queue.peek(); h != nil && h.kind != opSync; h = r.queue.peek() {
			r.pop()
			if se != nil && h.kind == opExecute {
				results = append(results, &session.Result{Command: h.seq, Error: se})
				se = nil
				continue
			}
			results = appendSkipped(results, h)
		}
		r.failedBatch = true
		r.mu.Unlock()
		if se != nil {
			results = append(results, &session.Result{Error: se})
		}
		r.recordResults(results)
	}
	return nil
}

// skippedError is recorded for a command the server never ran.
var skippedError = &session.Error{Message: "hoop: not executed: the server skipped it after an earlier error (until Sync)"}

// failed records the result of o, which ended with the error se.
func (r *relay) failed(o *op, se *session.Error) {
	b := r.result(o)
	b.res.Error = se
	if b.copyDir == copyDirIn && o.copyIn != nil {
		b.res.Copy = o.copyIn.take()
	}
	r.emit()
}

// appendSkipped notes that the server discarded o: a command it never ran.
func appendSkipped(results []*session.Result, o *op) []*session.Result {
	if o.seq != 0 && o.kind != opSync {
		results = append(results, &session.Result{Command: o.seq, Error: skippedError})
	}
	return results
}

// recordResults records results; a failed append fails the session closed, and its
// next command is refused.
func (r *relay) recordResults(results []*session.Result) {
	for _, res := range results {
		r.s.Result(res)
	}
}

func (r *relay) notice(body []byte) error {
	var n pgproto3.NoticeResponse
	if err := n.Decode(body); err != nil {
		return err
	}
	se := sessionError((*pgproto3.ErrorResponse)(&n))
	if o := r.head(); o != nil && (o.kind == opQuery || o.kind == opExecute || o.kind == opFunctionCall) {
		b := r.result(o)
		b.res.Notices = append(b.res.Notices, *se)
		return nil
	}
	r.s.Result(&session.Result{Notices: []session.Error{*se}})
	return nil
}

// notification records a NOTIFY. One the session sent itself carries the
// server's pid, which the client does not know: it gets the broker's, which
// BackendKeyData gave it, so it can tell its own notifications apart.
func (r *relay) notification(msg, body []byte) ([]byte, error) {
	var n pgproto3.NotificationResponse
	if err := n.Decode(body); err != nil {
		return nil, err
	}
	r.s.Result(&session.Result{Notification: &session.Notification{PID: n.PID, Channel: n.Channel, Payload: n.Payload}})
	if n.PID == r.pids.server && r.pids.server != 0 {
		n.PID = r.pids.client
		return n.Encode(nil)
	}
	return msg, nil
}

func (r *relay) parameterDescription(body []byte) error {
	var pd pgproto3.ParameterDescription
	if err := pd.Decode(body); err != nil {
		return err
	}
	if o := r.head(); o != nil && o.kind == opDescribe && o.stmt != nil {
		r.mu.Lock()
		o.stmt.paramOIDs = pd.ParameterOIDs
		r.mu.Unlock()
	}
	return nil
}

func (r *relay) functionCallResponse(body []byte) error {
	var f pgproto3.FunctionCallResponse
	if err := f.Decode(body); err != nil {
		return err
	}
	o := r.head()
	if o == nil || o.kind != opFunctionCall {
		return nil
	}
	b := r.result(o)
	b.res.RowCount = 1
	var v session.Value
	if f.Result != nil {
		s := valueText(r.back.types, 0, o.resultFormat, f.Result)
		v = &s
	}
	b.res.Rows = [][]session.Value{{v}}
	r.emit()
	return nil
}

func (r *relay) readyForQuery(body []byte) error {
	var z pgproto3.ReadyForQuery
	if err := z.Decode(body); err != nil {
		return err
	}
	if r.back.cur != nil {
		r.emit() // notices raised after the last statement
	}
	var results []*session.Result
	r.mu.Lock()
	r.txStatus = z.TxStatus
	r.failedBatch = false
	for o := r.queue.peek(); o != nil; o = r.queue.peek() {
		r.pop()
		if o.kind.endsWithReady() {
			if o.kind == opQuery {
				// A simple query replaced the unnamed statement and portal.
				delete(r.stmts, "")
				delete(r.portals, "")
			}
			break
		}
		results = appendSkipped(results, o)
	}
	if z.TxStatus == 'I' {
		// Portals live until the end of their transaction.
		clear(r.portals)
	}
	r.mu.Unlock()
	r.recordResults(results)
	return nil
}
