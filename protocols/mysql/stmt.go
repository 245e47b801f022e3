package mysql

// stmt is a statement the client prepared (COM_STMT_PREPARE), as the broker
// needs it to record executions: its text, its parameters' count and types,
// and the columns of an open cursor.
type stmt struct {
	id         uint32
	text       string
	numParams  int
	numColumns int
	// types are the parameter types of the last execution that bound them
	// (a later execution may leave them out).
	types []paramType
	// cursor are the columns of the cursor the last execution opened, to
	// decode the rows COM_STMT_FETCH returns.
	cursor []columnDefinition
	// longData is what COM_STMT_SEND_LONG_DATA sent per parameter since the
	// last execution, up to the recording's byte cap; longSize counts it all.
	longData map[uint16][]byte
	longSize map[uint16]int64
}

// paramType is a parameter's type as COM_STMT_EXECUTE binds it.
type paramType struct {
	Type     byte
	Unsigned bool
}

// lookup finds a prepared statement. MariaDB clients may name the statement
// prepared last with id 0xffffffff (direct execution).
func (c *conn) lookup(id uint32) *stmt {
	if id == 0xffffffff {
		id = c.lastPrepared
	}
	return c.stmts[id]
}
