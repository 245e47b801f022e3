package postgres

import (
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/jackc/pgx/v5/pgproto3"

	"github.com/hoophq/hoop/session"
)

// Messages the broker sends upstream on its own.
var (
	msgFlush     = []byte{'H', 0, 0, 0, 4}
	msgTerminate = []byte{'X', 0, 0, 0, 4}
)

// frontend relays client messages to the server until the client terminates,
// goes away, or breaks the protocol. Every command is recorded before it is
// forwarded.
func (r *relay) frontend() error {
	for {
		msg, err := r.cr.Next()
		if err != nil {
			return r.clientReadError(err)
		}
		if err := r.fromClient(msg); err != nil {
			return err
		}
		if r.cr.Buffered() == 0 {
			if err := r.flushUpstream(); err != nil {
				return err
			}
		}
	}
}

func (r *relay) clientReadError(err error) error {
	var fe *frameError
	if errors.As(err, &fe) {
		return r.clientViolation(fmt.Errorf("invalid message from the client: %w", err))
	}
	if !r.isClosed() {
		// The client went away: tell the server, as the client should have.
		r.terminating.Store(true)
		r.uw.Write(msgTerminate)
		r.uw.Flush()
	}
	return &directionError{Dir: "client->upstream", Err: fmt.Errorf("%w: %v", errClientGone, err)}
}

// clientViolation answers a protocol violation with FATAL 08P01.
func (r *relay) clientViolation(err error) error {
	pe := fatalf(codeProtocolViolation, "hoop: %v", err)
	r.writeClient(pe.encode(nil))
	return &directionError{Dir: "client->upstream", Err: pe}
}

func (r *relay) flushUpstream() error {
	if err := r.uw.Flush(); err != nil {
		return r.upstreamWriteError(err)
	}
	return nil
}

func (r *relay) upstreamWriteError(err error) error {
	return &directionError{Dir: "client->upstream", Err: fmt.Errorf("%w: %v", errUpstreamLost, err)}
}

// forward queues o (nil for messages the server does not answer) and writes
// msg upstream. o must be queued before the message can reach the server.
func (r *relay) forward(o *op, msg []byte) error {
	if o != nil {
		o.sent = time.Now()
		o.batch = r.front.batch
		r.mu.Lock()
		r.queue.push(o)
		if len(o.effects) > 0 {
			r.effects++
		}
		r.mu.Unlock()
		if o.seq != 0 {
			r.front.lastCmd = o
		}
	}
	if _, err := r.uw.Write(msg); err != nil {
		return r.upstreamWriteError(err)
	}
	return nil
}

// fromClient handles one client message.
func (r *relay) fromClient(msg []byte) error {
	t, body := msg[0], msg[5:]
	if t == 'X' { // Terminate
		r.terminating.Store(true)
		r.forward(nil, msg)
		r.uw.Flush()
		return errTerminated
	}
	if r.front.skipping {
		if !clientMessage(t) {
			return r.clientViolation(fmt.Errorf("unexpected message type %q from the client", t))
		}
		if t != 'S' {
			return nil
		}
		r.front.skipping = false
	}
	var err error
	switch t {
	case 'Q':
		err = r.query(msg, body)
	case 'P':
		err = r.parse(msg, body)
	case 'B':
		err = r.bind(msg, body)
	case 'D':
		err = r.describe(msg, body)
	case 'E':
		err = r.execute(msg, body)
	case 'S':
		err = r.sync(msg)
	case 'C':
		err = r.closeMessage(msg, body)
	case 'H': // Flush
		err = r.forward(nil, msg)
	case 'd': // CopyData
		if o := r.front.lastCmd; o != nil && o.copyIn != nil {
			o.copyIn.add(body, int64(r.caps.MaxBytes))
		}
		err = r.forward(nil, msg)
	case 'c', 'f': // CopyDone, CopyFail
		err = r.forward(nil, msg)
	case 'F':
		err = r.functionCall(msg, body)
	default:
		return r.clientViolation(fmt.Errorf("unexpected message type %q from the client", t))
	}
	return err
}

// clientMessage reports whether t is a message type a client may send after
// startup.
func clientMessage(t byte) bool {
	switch t {
	case 'Q', 'P', 'B', 'D', 'E', 'S', 'C', 'H', 'd', 'c', 'f', 'F', 'X':
		return true
	}
	return false
}

func (r *relay) malformed(t string, err error) error {
	return r.clientViolation(fmt.Errorf("malformed %s message: %v", t, err))
}

// record passes cmd through the policy and records it durably; o.seq is set
// when it may be forwarded. What is buffered for the server stays buffered
// meanwhile: it goes out with the command, in one write.
func (r *relay) record(cmd *session.Command, o *op) error {
	seq, err := r.s.Command(cmd)
	if err != nil {
		return err
	}
	o.seq = seq
	return nil
}

func (r *relay) query(msg, body []byte) error {
	var q pgproto3.Query
	if err := q.Decode(body); err != nil {
		return r.malformed("Query", err)
	}
	a := r.analyze(q.String)
	o := &op{kind: opQuery, copyIn: &copyIn{}, effects: a.effects}
	if err := r.record(&session.Command{Type: "query", Text: q.String, TouchesIdentity: a.touches}, o); err != nil {
		return r.refuse(err, false)
	}
	// A simple query replaces the unnamed statement and portal.
	r.front.stmts[""] = nil
	r.front.portals[""] = nil
	return r.forward(o, msg)
}

func (r *relay) parse(msg, body []byte) error {
	var p pgproto3.Parse
	if err := p.Decode(body); err != nil {
		return r.malformed("Parse", err)
	}
	a := r.analyze(p.Query)
	st := &statement{name: p.Name, sql: p.Query, touches: a.touches, effects: a.effects, paramOIDs: p.ParameterOIDs}
	r.front.stmts[p.Name] = st
	return r.forward(&op{kind: opParse, stmt: st}, msg)
}

func newStatement(name, sql string) *statement {
	touches, effects := analyze(sql)
	return &statement{name: name, sql: sql, touches: touches, effects: effects}
}

// analysis is what the frontend learns of a SQL text by lexing it.
type analysis struct {
	touches bool
	effects []preparedEffect
}

// maxAnalyses bounds the frontend's cache of analyses.
const maxAnalyses = 256

// analyze returns the analysis of sql, from the cache when the client sent
// the same text before: drivers send the same statements over and over (an
// unnamed Parse per execution, in the extended protocol).
func (r *relay) analyze(sql string) analysis {
	if a, ok := r.front.analyses[sql]; ok {
		return a
	}
	var a analysis
	a.touches, a.effects = analyze(sql)
	if len(r.front.analyses) >= maxAnalyses {
		clear(r.front.analyses)
	}
	if len(sql) <= 4<<10 {
		r.front.analyses[sql] = a
	}
	return a
}

func (r *relay) bind(msg, body []byte) error {
	var b pgproto3.Bind
	if err := b.Decode(body); err != nil {
		return r.malformed("Bind", err)
	}
	params := make([][]byte, len(b.Parameters))
	for i, v := range b.Parameters {
		if v != nil {
			params[i] = append(make([]byte, 0, len(v)), v...)
		}
	}
	p := &portal{
		name:          b.DestinationPortal,
		stmtName:      b.PreparedStatement,
		stmt:          r.lookupStatement(b.PreparedStatement, true),
		params:        params,
		paramFormats:  b.ParameterFormatCodes,
		resultFormats: b.ResultFormatCodes,
	}
	r.front.portals[p.name] = p
	return r.forward(&op{kind: opBind, portal: p}, msg)
}

func (r *relay) describe(msg, body []byte) error {
	var d pgproto3.Describe
	if err := d.Decode(body); err != nil {
		return r.malformed("Describe", err)
	}
	o := &op{kind: opDescribe, target: d.ObjectType, name: d.Name}
	if d.ObjectType == 'S' {
		o.stmt = r.lookupStatement(d.Name, false)
	} else {
		o.portal = r.lookupPortal(d.Name, false)
	}
	return r.forward(o, msg)
}

func (r *relay) execute(msg, body []byte) error {
	var e pgproto3.Execute
	if err := e.Decode(body); err != nil {
		return r.malformed("Execute", err)
	}
	cmd := &session.Command{Type: "execute", Portal: e.Portal}
	o := &op{kind: opExecute, copyIn: &copyIn{}}
	if p := r.lookupPortal(e.Portal, true); p != nil {
		o.portal = p
		cmd.Statement = p.stmtName
		var oids []uint32
		if st := p.stmt; st != nil {
			cmd.Text, cmd.TouchesIdentity, o.effects = st.sql, st.touches, st.effects
			r.mu.Lock()
			oids = st.paramOIDs
			r.mu.Unlock()
		}
		cmd.Params, cmd.ParamTypes = decodeParams(r.front.types, oids, p.paramFormats, p.params)
	}
	if err := r.record(cmd, o); err != nil {
		return r.refuse(err, true)
	}
	r.front.lastSeq = o.seq
	return r.forward(o, msg)
}

func (r *relay) sync(msg []byte) error {
	err := r.forward(&op{kind: opSync, seq: r.front.lastSeq}, msg)
	r.front.batch++
	clear(r.front.stmts)
	clear(r.front.portals)
	r.front.lastSeq = 0
	return err
}

func (r *relay) closeMessage(msg, body []byte) error {
	var c pgproto3.Close
	if err := c.Decode(body); err != nil {
		return r.malformed("Close", err)
	}
	if c.ObjectType == 'S' {
		r.front.stmts[c.Name] = nil
	} else {
		r.front.portals[c.Name] = nil
	}
	return r.forward(&op{kind: opClose, target: c.ObjectType, name: c.Name}, msg)
}

func (r *relay) functionCall(msg, body []byte) error {
	var f pgproto3.FunctionCall
	if err := f.Decode(body); err != nil {
		return r.malformed("FunctionCall", err)
	}
	formats := make([]int16, len(f.ArgFormatCodes))
	for i, c := range f.ArgFormatCodes {
		formats[i] = int16(c)
	}
	params, _ := decodeParams(r.front.types, nil, formats, f.Arguments)
	cmd := &session.Command{
		Type:            "function_call",
		Text:            "function " + strconv.FormatUint(uint64(f.Function), 10),
		Params:          params,
		TouchesIdentity: functionCallTouchesIdentity(f.Function, f.Arguments),
	}
	o := &op{kind: opFunctionCall, resultFormat: int16(f.ResultFormatCode)}
	if err := r.record(cmd, o); err != nil {
		return r.refuse(err, false)
	}
	return r.forward(o, msg)
}

// errRelayClosed is returned to a frontend waiting for answers when the relay
// closes.
var errRelayClosed = errors.New("relay closed")

// waitIdle waits until the server has answered every queued op.
func (r *relay) waitIdle() error {
	r.mu.Lock()
	defer r.mu.Unlock()
	for r.queue.len() > 0 && !r.closed {
		r.changed.Wait()
	}
	if r.closed {
		return errRelayClosed
	}
	return nil
}
