package mysql

import (
	gm "github.com/go-mysql-org/go-mysql/mysql"

	"github.com/hoophq/hoop/session"
)

// comChangeUser is COM_CHANGE_USER. Only the user name is decoded: the rest
// carries the new user's secret, which is never recorded.
type comChangeUser struct {
	User string
}

func decodeComChangeUser(p []byte) comChangeUser {
	d := decoder{b: p[1:]}
	u := d.nul()
	if d.err != nil {
		return comChangeUser{}
	}
	return comChangeUser{User: string(u)}
}

// comChangeUser refuses the change: a session belongs to the identity whose
// token opened it. The connection stays as it was, usable.
func (c *conn) comChangeUser(p []byte) error {
	u := decodeComChangeUser(p)
	cmd := &session.Command{Type: "change_user", Text: u.User}
	return c.refuse(cmd, "mysql:change_user", newErr(gm.ER_ACCESS_DENIED_ERROR,
		"COM_CHANGE_USER is not supported through the broker: a session keeps the identity of the token that opened it; connect again with the other identity's token"))
}
