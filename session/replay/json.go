package replay

import (
	"encoding/json"
	"io"

	"github.com/hoophq/hoop/session"
)

// JSON writes one session.Event per line, its payload as a JSON value.
type JSON struct {
	enc *json.Encoder
}

// NewJSON returns a renderer writing to w.
func NewJSON(w io.Writer) *JSON {
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	return &JSON{enc: enc}
}

// Event writes ev as one line.
func (j *JSON) Event(ev *session.Event) error { return j.enc.Encode(ev) }

// Finish writes nothing: the stream is events only; verification is the
// caller's to report.
func (j *JSON) Finish(*session.Info, session.Report) error { return nil }
