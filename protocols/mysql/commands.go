package mysql

import (
	"errors"
	"fmt"

	gm "github.com/go-mysql-org/go-mysql/mysql"
)

// commands serves the command phase: one command at a time, each recorded
// before it is forwarded and answered before the next is read (the classic
// protocol is half-duplex; a client that pipelines simply waits in the
// socket). It returns when the client quits (errQuit) or a leg fails.
func (c *conn) commands() error {
	for {
		p, err := c.readClient()
		if err != nil {
			return c.fatal(err)
		}
		if c.cr.seq != 0 {
			return c.fatal(fmt.Errorf("%w: command packet with sequence id %d", ErrMalformed, c.cr.seq))
		}
		if len(p) == 0 {
			return c.fatal(fmt.Errorf("%w: empty command packet", ErrMalformed))
		}
		if err := c.command(p); err != nil {
			return c.fatal(err)
		}
	}
}

// command dispatches one command packet.
func (c *conn) command(p []byte) error {
	switch p[0] {
	case gm.COM_QUIT:
		c.forward(p) // best effort: the upstream closes either way
		return errQuit
	case gm.COM_QUERY:
		return c.comQuery(p)
	case gm.COM_STMT_PREPARE:
		return c.comStmtPrepare(p)
	case gm.COM_STMT_EXECUTE:
		return c.comStmtExecute(p)
	case gm.COM_STMT_FETCH:
		return c.comStmtFetch(p)
	case gm.COM_STMT_CLOSE:
		return c.comStmtClose(p)
	case gm.COM_STMT_RESET:
		return c.comStmtReset(p)
	case gm.COM_STMT_SEND_LONG_DATA:
		return c.comStmtSendLongData(p)
	case gm.COM_INIT_DB:
		return c.comInitDB(p)
	case gm.COM_PING:
		return c.comPing(p)
	case gm.COM_FIELD_LIST:
		return c.comFieldList(p)
	case gm.COM_STATISTICS:
		return c.comStatistics(p)
	case gm.COM_SET_OPTION:
		return c.comSetOption(p)
	case gm.COM_RESET_CONNECTION:
		return c.comResetConnection(p)
	case gm.COM_CHANGE_USER:
		return c.comChangeUser(p)
	case gm.COM_PROCESS_KILL:
		return c.comProcessKill(p)
	}
	return c.unsupported(p[0])
}

// fatal answers the client, where it still can, before the connection
// closes: a packet too large or malformed gets its ERR packet, a lost
// upstream says so.
func (c *conn) fatal(err error) error {
	var (
		tl *PacketTooLargeError
		ue *upstreamError
		ce *clientError
	)
	switch {
	case errors.Is(err, errQuit):
	case errors.As(err, &tl):
		c.sendErr(newErr(gm.ER_NET_PACKET_TOO_LARGE, "Got a packet bigger than max_message_size (%d bytes); closing the connection", tl.Limit))
	case errors.Is(err, ErrMalformed) && !errors.As(err, &ue):
		c.sendErr(newErr(gm.ER_MALFORMED_PACKET, "%v; closing the connection", err))
	case errors.As(err, &ue):
		c.sendErr(newErr(gm.ER_UNKNOWN_ERROR, "%v; closing the connection", err))
	case errors.As(err, &ce):
	}
	return err
}
