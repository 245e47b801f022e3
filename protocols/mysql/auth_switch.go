package mysql

import (
	"bytes"

	gm "github.com/go-mysql-org/go-mysql/mysql"
)

// authSwitchRequest is Protocol::AuthSwitchRequest: the broker asks the
// client to authenticate with another plugin — mysql_clear_password, so that
// the client sends its token.
type authSwitchRequest struct {
	Plugin string
	Data   []byte
}

func (r *authSwitchRequest) encode(b []byte) []byte {
	b = append(b, gm.EOF_HEADER)
	b = appendNul(b, r.Plugin)
	b = append(b, r.Data...)
	return append(b, 0)
}

// clearPassword decodes the mysql_clear_password plugin's message, in an auth
// switch response or in the handshake response: the password (the token),
// NUL-terminated by most clients. The plugin has no length limit of its own,
// so a JWT of any size fits the packet.
func clearPassword(p []byte) string {
	p = bytes.TrimSuffix(p, []byte{0})
	return string(p)
}
