package mysql

import (
	"fmt"

	"github.com/hoophq/hoop/session"
)

// comProcessKill is COM_PROCESS_KILL, the deprecated command form of
// KILL CONNECTION n.
type comProcessKill struct {
	ThreadID uint32
}

func decodeComProcessKill(p []byte) (comProcessKill, error) {
	d := decoder{b: p[1:]}
	k := comProcessKill{ThreadID: d.u32()}
	if d.err != nil || !d.empty() {
		return k, fmt.Errorf("%w: COM_PROCESS_KILL", ErrMalformed)
	}
	return k, nil
}

// comProcessKill maps the thread id like KILL CONNECTION.
func (c *conn) comProcessKill(p []byte) error {
	k, err := decodeComProcessKill(p)
	if err != nil {
		return err
	}
	cmd := &session.Command{Type: "kill", Text: fmt.Sprintf("KILL CONNECTION %d", k.ThreadID)}
	return c.kill(cmd, &killRequest{ID: uint64(k.ThreadID)})
}
