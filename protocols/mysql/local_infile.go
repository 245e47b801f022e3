package mysql

import "github.com/hoophq/hoop/session"

// localInfile answers a LOCAL INFILE request (0xfb and a file name) that
// LOAD DATA LOCAL INFILE draws from the upstream. When the connection allows
// it, the request goes to the client, which sends the file's contents in
// packets ending with an empty one; the broker forwards them upstream and
// records their size and first bytes, up to the recording's byte cap.
// Otherwise (the upstream should not even ask: the broker does not negotiate
// CLIENT_LOCAL_FILES then) the client never sees the request — no upstream
// may read a client's files — and the upstream gets an empty file.
func (c *conn) localInfile(req []byte) (*session.Copy, error) {
	cp := &session.Copy{Direction: "in"}
	if !c.ep.Conn.MySQL.LocalInfile {
		return cp, c.endInfile()
	}
	if err := c.writeClient(req); err != nil {
		return nil, err
	}
	limit := int(c.ep.Conn.Recording.MaxBytes)
	var kept []byte
	for {
		p, err := c.readClient()
		if err != nil {
			return nil, err
		}
		if len(p) == 0 {
			break
		}
		cp.Bytes += int64(len(p))
		if room := limit - len(kept); room > 0 {
			kept = append(kept, p[:min(room, len(p))]...)
		}
		if err := c.writeUpstream(p); err != nil {
			return nil, err
		}
	}
	cp.Truncated = int64(len(kept)) < cp.Bytes
	cp.Data = text(kept)
	return cp, c.endInfile()
}

// endInfile sends the empty packet that ends the file upstream.
func (c *conn) endInfile() error {
	if err := c.writeUpstream(nil); err != nil {
		return err
	}
	return c.flushUpstream()
}
