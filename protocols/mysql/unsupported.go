package mysql

import (
	"fmt"

	gm "github.com/go-mysql-org/go-mysql/mysql"

	"github.com/hoophq/hoop/session"
)

// commandNames names the commands the broker refuses, for the client and
// the recording.
var commandNames = map[byte]string{
	gm.COM_SLEEP: "COM_SLEEP", gm.COM_CREATE_DB: "COM_CREATE_DB", gm.COM_DROP_DB: "COM_DROP_DB",
	gm.COM_REFRESH: "COM_REFRESH", gm.COM_SHUTDOWN: "COM_SHUTDOWN", gm.COM_PROCESS_INFO: "COM_PROCESS_INFO",
	gm.COM_CONNECT: "COM_CONNECT", gm.COM_DEBUG: "COM_DEBUG", gm.COM_TIME: "COM_TIME",
	gm.COM_DELAYED_INSERT: "COM_DELAYED_INSERT", gm.COM_BINLOG_DUMP: "COM_BINLOG_DUMP",
	gm.COM_TABLE_DUMP: "COM_TABLE_DUMP", gm.COM_CONNECT_OUT: "COM_CONNECT_OUT",
	gm.COM_REGISTER_SLAVE: "COM_REGISTER_SLAVE", gm.COM_DAEMON: "COM_DAEMON",
	gm.COM_BINLOG_DUMP_GTID: "COM_BINLOG_DUMP_GTID", gm.COM_CLONE: "COM_CLONE",
	0xfa: "COM_STMT_BULK_EXECUTE",
}

// unsupported refuses a command the broker does not relay (replication,
// administrative commands that have SQL equivalents, unknown codes) with
// the server's "unknown command" error, and keeps serving.
func (c *conn) unsupported(code byte) error {
	name, ok := commandNames[code]
	if !ok {
		name = fmt.Sprintf("command 0x%02x", code)
	}
	cmd := &session.Command{Type: name}
	return c.refuse(cmd, "mysql:command", newErr(gm.ER_UNKNOWN_COM_ERROR, "%s is not supported through the broker", name))
}
