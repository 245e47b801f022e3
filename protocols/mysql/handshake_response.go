package mysql

import (
	"fmt"

	gm "github.com/go-mysql-org/go-mysql/mysql"
)

// sslRequestSize is the size of Protocol::SSLRequest: the first 32 bytes of a
// handshake response, sent before the TLS handshake.
const sslRequestSize = 32

// maxAttrs bounds the connection attributes kept from a client.
const maxAttrs = 64

// handshakeResponse is Protocol::HandshakeResponse41, the client's answer to
// the greeting (or, when it is 32 bytes long with CLIENT_SSL, an SSLRequest).
type handshakeResponse struct {
	Capabilities uint32
	MaxPacket    uint32
	Charset      byte
	User         string
	AuthResponse []byte // the secret when AuthPlugin is mysql_clear_password
	Database     string
	AuthPlugin   string
	Attrs        map[string]string
	SSLRequest   bool
}

// decodeHandshakeResponse decodes a handshake response or an SSLRequest.
// Fields a client leaves off the end of the packet are empty, as servers
// accept.
func decodeHandshakeResponse(p []byte) (*handshakeResponse, error) {
	d := decoder{b: p}
	r := &handshakeResponse{}
	r.Capabilities = d.u32()
	r.MaxPacket = d.u32()
	r.Charset = d.u8()
	d.n(23)
	if d.err != nil {
		return nil, fmt.Errorf("%w: handshake response of %d bytes", ErrMalformed, len(p))
	}
	if r.Capabilities&gm.CLIENT_PROTOCOL_41 == 0 {
		return nil, fmt.Errorf("%w: the client does not speak protocol 4.1", ErrMalformed)
	}
	if len(p) == sslRequestSize {
		if r.Capabilities&gm.CLIENT_SSL == 0 {
			return nil, fmt.Errorf("%w: handshake response without a user", ErrMalformed)
		}
		r.SSLRequest = true
		return r, nil
	}
	r.User = string(d.nul())
	switch {
	case r.Capabilities&gm.CLIENT_PLUGIN_AUTH_LENENC_CLIENT_DATA != 0:
		r.AuthResponse, _ = d.lenencBytes()
	case r.Capabilities&gm.CLIENT_SECURE_CONNECTION != 0:
		r.AuthResponse = d.n(int(d.u8()))
	default:
		r.AuthResponse = d.nul()
	}
	if d.err != nil {
		return nil, fmt.Errorf("%w: handshake response: user or auth data", ErrMalformed)
	}
	if r.Capabilities&gm.CLIENT_CONNECT_WITH_DB != 0 && !d.empty() {
		r.Database = string(d.nul())
	}
	if r.Capabilities&gm.CLIENT_PLUGIN_AUTH != 0 && !d.empty() {
		r.AuthPlugin = string(d.nul())
	}
	if d.err != nil {
		return nil, fmt.Errorf("%w: handshake response: database or plugin name", ErrMalformed)
	}
	if r.Capabilities&gm.CLIENT_CONNECT_ATTRS != 0 && !d.empty() {
		attrs, _ := d.lenencBytes()
		if d.err != nil {
			return nil, fmt.Errorf("%w: handshake response: connection attributes", ErrMalformed)
		}
		ad := decoder{b: attrs}
		r.Attrs = map[string]string{}
		for !ad.empty() && ad.err == nil {
			k, _ := ad.lenencBytes()
			v, _ := ad.lenencBytes()
			if ad.err == nil && len(r.Attrs) < maxAttrs {
				r.Attrs[string(k)] = string(v)
			}
		}
		if ad.err != nil {
			return nil, fmt.Errorf("%w: handshake response: connection attributes", ErrMalformed)
		}
	}
	return r, nil
}
