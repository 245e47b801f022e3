package postgres

// The relay tracks the prepared statements and portals of the session, so
// that an execute is recorded with the text of the statement that actually
// runs. The server's own view is only known from its answers: a Parse or Bind
// that fails, or is skipped after an earlier error, creates nothing, and a
// skipped Close drops nothing. So the relay keeps two views:
//
//   - the confirmed one (relay.stmts, relay.portals), updated by the backend
//     from ParseComplete, BindComplete, CloseComplete, from the command tags of
//     SQL-level PREPARE, DEALLOCATE and DISCARD ALL, and from the end of
//     transactions (portals);
//   - the current batch's changes (frontState), applied optimistically by the
//     frontend: within a batch they hold unless a message fails, and then the
//     server skips the rest of the batch, so nothing runs under a wrong name.
//
// A lookup that falls through to the confirmed view first waits until the
// earlier batches' changes are confirmed. Clients that wait for ReadyForQuery
// between batches (psql, pgx outside pipelines, pgbench) never wait.

// A statement is a prepared statement, named or unnamed.
type statement struct {
	name    string
	sql     string
	touches bool // sql may change the identity settings
	// effects are the PREPARE / DEALLOCATE / DISCARD ALL in sql.
	effects []preparedEffect

	// Guarded by relay.mu: set by the backend from the server's answers.
	paramOIDs []uint32 // from Parse, then the server's ParameterDescription
	fields    []field  // from Describe of the statement
}

// A portal is a bound statement.
type portal struct {
	name          string
	stmtName      string
	stmt          *statement // nil when the statement is unknown
	params        [][]byte   // copied from the Bind
	paramFormats  []int16
	resultFormats []int16

	// Guarded by relay.mu: from Describe of the portal.
	fields []field
}

// field describes a result column.
type field struct {
	name   string
	oid    uint32
	format int16
}

// lookupStatement finds the statement a Bind or Describe names as the server
// will have it when it gets there: this batch's changes first, then the
// server's confirmed statements. With wait, it first waits for the answers to
// earlier batches' Parse, Bind and Close (and to PREPARE / DEALLOCATE), so
// that a failed or skipped one can't make the recording name another
// statement than the one that runs. Clients that wait for ReadyForQuery
// between batches never wait here.
func (r *relay) lookupStatement(name string, wait bool) *statement {
	if st, ok := r.front.stmts[name]; ok {
		return st
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if wait {
		r.waitConfirmed()
	}
	return r.stmts[name]
}

// lookupPortal is lookupStatement for portals.
func (r *relay) lookupPortal(name string, wait bool) *portal {
	if p, ok := r.front.portals[name]; ok {
		return p
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if wait {
		r.waitConfirmed()
	}
	return r.portals[name]
}

// waitConfirmed waits, with r.mu held, until no earlier batch's changes to
// statements and portals are unconfirmed.
func (r *relay) waitConfirmed() {
	if !r.unconfirmed() {
		return
	}
	// The earlier batches ended with Sync, which makes the server answer;
	// make sure it has them.
	r.mu.Unlock()
	err := r.uw.Flush()
	r.mu.Lock()
	for err == nil && !r.closed && r.unconfirmed() {
		r.changed.Wait()
	}
}

func (r *relay) unconfirmed() bool {
	return r.effects > 0 || r.queue.unresolvedBefore(r.front.batch)
}

// answered pops the head op when it is of kind k, applying what its answer
// confirms, and set (if not nil) with r.mu held.
func (r *relay) answered(k opKind, set func()) {
	r.mu.Lock()
	defer r.mu.Unlock()
	o := r.queue.peek()
	if o == nil || o.kind != k {
		return // not what the relay expected; leave the queue as it is
	}
	if set != nil {
		set()
	}
	switch k {
	case opParse:
		r.stmts[o.stmt.name] = o.stmt
	case opBind:
		r.portals[o.portal.name] = o.portal
	case opClose:
		if o.target == 'S' {
			delete(r.stmts, o.name)
		} else {
			delete(r.portals, o.name)
		}
	}
	r.pop()
}

// pop removes the head op, with r.mu held, and wakes a waiting frontend.
func (r *relay) pop() {
	if o := r.queue.pop(); o != nil && len(o.effects) > 0 {
		r.effects--
		o.effects = nil
	}
	r.changed.Broadcast()
}

// applyEffect applies the PREPARE, DEALLOCATE or DISCARD ALL that the server
// just confirmed with tag.
func (r *relay) applyEffect(o *op, tag string) {
	if len(o.effects) == 0 {
		return
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	for i, e := range o.effects {
		if e.Tag != tag {
			continue
		}
		switch e.Tag {
		case tagPrepare:
			r.stmts[e.Name] = newStatement(e.Name, e.SQL)
		case tagDeallocate:
			delete(r.stmts, e.Name)
		case tagDeallocateAll, tagDiscardAll:
			unnamed, ok := r.stmts[""]
			clear(r.stmts)
			if ok {
				r.stmts[""] = unnamed
			}
			if e.Tag == tagDiscardAll {
				clear(r.portals)
			}
		}
		o.effects = append(o.effects[:i:i], o.effects[i+1:]...)
		if len(o.effects) == 0 {
			r.effects--
			r.changed.Broadcast()
		}
		return
	}
}
