package replay

import (
	"encoding/json"
	"fmt"
	"io"
	"time"
	"unicode/utf8"

	"github.com/hoophq/hoop/session"
)

// Asciicast writes a terminal session as asciicast v2, which asciinema
// plays (asciinema play, asciinema cat): a header line, then one
// [seconds, "o", text] line per output and [seconds, "r", "COLSxROWS"] per
// resize. Times are the recorded offsets from the session's start; the
// header's idle_time_limit carries MaxIdle for the player to apply.
// Input is not written: asciinema does not record it either.
type Asciicast struct {
	w       io.Writer
	maxIdle time.Duration
	info    session.Info
	header  bool
	cols    int
	rows    int
	partial []byte // an incomplete UTF-8 sequence held for the next output
	last    float64
}

// NewAsciicast returns a renderer writing to w. maxIdle (0 for none) goes
// into the header as idle_time_limit.
func NewAsciicast(w io.Writer, maxIdle time.Duration) *Asciicast {
	return &Asciicast{w: w, maxIdle: maxIdle}
}

var _ Renderer = (*Asciicast)(nil)

type castHeader struct {
	Version       int               `json:"version"`
	Width         int               `json:"width"`
	Height        int               `json:"height"`
	Timestamp     int64             `json:"timestamp,omitempty"`
	IdleTimeLimit float64           `json:"idle_time_limit,omitempty"`
	Title         string            `json:"title,omitempty"`
	Env           map[string]string `json:"env,omitempty"`
}

// Event writes output and resize events; the header goes first, sized by
// the first resize (the pty request), or 80x24 when output comes first.
func (a *Asciicast) Event(ev *session.Event) error {
	switch ev.Kind {
	case session.KindStart:
		info, err := Decode[session.Info](ev)
		if err != nil {
			return err
		}
		a.info = *info
	case session.KindResize:
		r, err := Decode[session.Resize](ev)
		if err != nil {
			return err
		}
		if !a.header {
			a.cols, a.rows = r.Cols, r.Rows
			return nil
		}
		return a.event(ev.Time, "r", fmt.Sprintf("%dx%d", r.Cols, r.Rows))
	case session.KindOutput:
		b, err := Decode[session.Bytes](ev)
		if err != nil {
			return err
		}
		if err := a.writeHeader(); err != nil {
			return err
		}
		data := append(a.partial, b.Data...)
		a.partial = nil
		// JSON strings are text: hold back a UTF-8 sequence that the next
		// output completes.
		if cut := incomplete(data); cut > 0 {
			a.partial = append([]byte(nil), data[len(data)-cut:]...)
			data = data[:len(data)-cut]
		}
		if len(data) == 0 {
			return nil
		}
		return a.event(ev.Time, "o", string(data))
	}
	return nil
}

// incomplete returns the length of a UTF-8 sequence cut short at the end of
// b, or 0.
func incomplete(b []byte) int {
	for i := 1; i <= 3 && i <= len(b); i++ {
		c := b[len(b)-i]
		if c < 0x80 {
			return 0 // ASCII: complete
		}
		if utf8.RuneStart(c) {
			if !utf8.FullRune(b[len(b)-i:]) {
				return i
			}
			return 0
		}
	}
	return 0
}

func (a *Asciicast) writeHeader() error {
	if a.header {
		return nil
	}
	a.header = true
	h := castHeader{Version: 2, Width: a.cols, Height: a.rows, Title: a.title()}
	if h.Width <= 0 || h.Height <= 0 {
		h.Width, h.Height = 80, 24
	}
	if !a.info.Started.IsZero() {
		h.Timestamp = a.info.Started.Unix()
	}
	if a.maxIdle > 0 {
		h.IdleTimeLimit = a.maxIdle.Seconds()
	}
	return a.line(h)
}

func (a *Asciicast) title() string {
	if a.info.ID == "" {
		return ""
	}
	user := a.info.Principal.Subject
	if a.info.Principal.Name != "" {
		user = a.info.Principal.Name
	}
	return fmt.Sprintf("hoop session %s: %s on %s", a.info.ID, user, a.info.Connection)
}

func (a *Asciicast) event(t time.Time, kind, data string) error {
	sec := 0.0
	if !a.info.Started.IsZero() {
		sec = t.Sub(a.info.Started).Seconds()
	}
	if sec < a.last { // times never go back in a cast
		sec = a.last
	}
	a.last = sec
	return a.line([]any{json.Number(fmt.Sprintf("%.6f", sec)), kind, data})
}

func (a *Asciicast) line(v any) error {
	b, err := json.Marshal(v)
	if err != nil {
		return err
	}
	_, err = a.w.Write(append(b, '\n'))
	return err
}

// Finish flushes a held partial sequence and writes the header of a session
// without output, so that the file is always a valid cast.
func (a *Asciicast) Finish(*session.Info, session.Report) error {
	if err := a.writeHeader(); err != nil {
		return err
	}
	if len(a.partial) > 0 {
		p := a.partial
		a.partial = nil
		return a.line([]any{json.Number(fmt.Sprintf("%.6f", a.last)), "o", string(p)})
	}
	return nil
}
