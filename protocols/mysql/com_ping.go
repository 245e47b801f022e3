package mysql

// comPing relays COM_PING. It runs nothing and is not recorded.
func (c *conn) comPing(p []byte) error {
	if err := c.forward(p); err != nil {
		return err
	}
	_, err := c.relay()
	return err
}
