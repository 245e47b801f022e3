package mysql

import (
	"strings"

	"github.com/hoophq/hoop/session"
)

// comInitDB is COM_INIT_DB: change the default database, as USE does.
type comInitDB struct {
	Schema string
}

func decodeComInitDB(p []byte) comInitDB { return comInitDB{Schema: string(p[1:])} }

// comInitDB is recorded as the USE statement it stands for.
func (c *conn) comInitDB(p []byte) error {
	db := decodeComInitDB(p)
	cmd := &session.Command{Type: "init_db", Text: "USE `" + strings.ReplaceAll(db.Schema, "`", "``") + "`"}
	return c.simple(cmd, p)
}
