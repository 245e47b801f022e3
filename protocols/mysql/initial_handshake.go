package mysql

import gm "github.com/go-mysql-org/go-mysql/mysql"

// initialHandshake is Protocol::HandshakeV10, the greeting the broker sends a
// client before anything else (MySQL protocol, "Connection Phase Packets").
type initialHandshake struct {
	ServerVersion string
	// ThreadID is the connection id the client shows and later names in
	// KILL QUERY: the broker's own, mapped to the upstream's (kill.go).
	ThreadID     uint32
	Salt         [20]byte // auth-plugin-data, no NUL bytes
	Capabilities uint32
	Charset      byte
	Status       uint16
	AuthPlugin   string
}

// encode appends the payload.
func (h *initialHandshake) encode(b []byte) []byte {
	b = append(b, 10) // protocol version
	b = appendNul(b, h.ServerVersion)
	b = appendU32(b, h.ThreadID)
	b = append(b, h.Salt[:8]...)
	b = append(b, 0) // filler
	b = appendU16(b, uint16(h.Capabilities))
	b = append(b, h.Charset)
	b = appendU16(b, h.Status)
	b = appendU16(b, uint16(h.Capabilities>>16))
	b = append(b, byte(len(h.Salt)+1))
	b = append(b, make([]byte, 10)...) // reserved (MariaDB's extended capabilities stay 0: CLIENT_MYSQL is set)
	b = append(b, h.Salt[8:]...)
	b = append(b, 0)
	return appendNul(b, h.AuthPlugin)
}

// serverCapabilities are the capabilities the broker offers clients: those it
// can relay verbatim to any MySQL or MariaDB upstream. Left out: compression,
// CLIENT_DEPRECATE_EOF (every server speaks the EOF form, and the relay
// decodes one form), session tracking and query attributes (they change the
// OK packet and COM_QUERY), and MariaDB's extended capabilities.
const serverCapabilities = gm.CLIENT_LONG_PASSWORD | gm.CLIENT_FOUND_ROWS | gm.CLIENT_LONG_FLAG |
	gm.CLIENT_CONNECT_WITH_DB | gm.CLIENT_LOCAL_FILES | gm.CLIENT_IGNORE_SPACE | gm.CLIENT_PROTOCOL_41 |
	gm.CLIENT_INTERACTIVE | gm.CLIENT_TRANSACTIONS | gm.CLIENT_SECURE_CONNECTION |
	gm.CLIENT_MULTI_STATEMENTS | gm.CLIENT_MULTI_RESULTS | gm.CLIENT_PS_MULTI_RESULTS |
	gm.CLIENT_PLUGIN_AUTH | gm.CLIENT_CONNECT_ATTRS | gm.CLIENT_PLUGIN_AUTH_LENENC_CLIENT_DATA
