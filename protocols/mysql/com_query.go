package mysql

import (
	gm "github.com/go-mysql-org/go-mysql/mysql"

	"github.com/hoophq/hoop/session"
)

// comQuery is COM_QUERY: a text statement, or several separated by
// semicolons when the client negotiated CLIENT_MULTI_STATEMENTS. (The broker
// does not negotiate CLIENT_QUERY_ATTRIBUTES, so nothing precedes the text.)
type comQuery struct {
	Query string
}

func decodeComQuery(p []byte) comQuery { return comQuery{Query: string(p[1:])} }

func (q comQuery) encode(b []byte) []byte { return append(append(b, gm.COM_QUERY), q.Query...) }

// comQuery records the statement, refuses what the broker must refuse (an
// assignment to an identity variable, LOAD DATA LOCAL when it is off, KILL
// forms it can't map), maps KILL to the upstream's thread ids, and relays
// the results.
func (c *conn) comQuery(p []byte) error {
	q := decodeComQuery(p)
	info := c.guard.analyze(q.Query)
	cmd := &session.Command{Type: "query", Text: q.Query, TouchesIdentity: info.TouchesIdentity}
	if !cmd.TouchesIdentity {
		switch {
		case info.Refuse != "":
			return c.refuse(cmd, "mysql:kill", newErr(gm.ER_NOT_SUPPORTED_YET, "%s", info.Refuse))
		case info.LocalInfile && !c.ep.Conn.MySQL.LocalInfile:
			return c.refuse(cmd, "mysql:local_infile", newErr(gm.ER_NOT_ALLOWED_COMMAND,
				"LOAD DATA LOCAL INFILE is disabled on connection %q (the connection's mysql.local_infile allows it)", c.ep.Conn.Name))
		case info.Kill != nil:
			return c.kill(cmd, info.Kill)
		}
	}
	seq, start, sent, err := c.recordAndForward(cmd, p)
	if !sent {
		return err
	}
	return c.relayResults(seq, start, false, nil)
}
