package mysql

import (
	"fmt"

	"github.com/hoophq/hoop/session"
)

// comSetOption is COM_SET_OPTION: multi-statements on (0) or off (1). The
// server answers with an EOF or ERR packet.
type comSetOption struct {
	Option uint16
}

func decodeComSetOption(p []byte) (comSetOption, error) {
	d := decoder{b: p[1:]}
	o := comSetOption{Option: d.u16()}
	if d.err != nil || !d.empty() {
		return o, fmt.Errorf("%w: COM_SET_OPTION", ErrMalformed)
	}
	return o, nil
}

func (c *conn) comSetOption(p []byte) error {
	o, err := decodeComSetOption(p)
	if err != nil {
		return err
	}
	text := fmt.Sprintf("multi_statements option %d", o.Option)
	switch o.Option {
	case 0:
		text = "multi_statements on"
	case 1:
		text = "multi_statements off"
	}
	return c.simple(&session.Command{Type: "set_option", Text: text}, p)
}
