package replay

import (
	"io"
	"time"

	"github.com/hoophq/hoop/session"
)

// terminals lists the protocols whose sessions are terminals: their text
// playback is Terminal. Written by RegisterTerminal from init functions only.
var terminals = map[string]bool{}

// RegisterTerminal says that protocol's sessions record a terminal (output,
// input and resize events), to be played back by Terminal. Call it from an
// init function.
func RegisterTerminal(protocol string) { terminals[protocol] = true }

// IsTerminal reports whether protocol's sessions are played back as a
// terminal.
func IsTerminal(protocol string) bool { return terminals[protocol] }

// Timing is how a terminal is played back.
type Timing struct {
	// Speed divides the pauses between outputs; 0 or 1 is the original pace.
	Speed float64
	// NoTiming writes the output at once.
	NoTiming bool
	// MaxIdle caps each pause (before Speed applies, as asciinema does);
	// 0 for no cap.
	MaxIdle time.Duration
	// Sleep waits; nil for time.Sleep.
	Sleep func(time.Duration)
}

// delay is how long to wait for a pause of d.
func (t Timing) delay(d time.Duration) time.Duration {
	if t.NoTiming || d <= 0 {
		return 0
	}
	if t.MaxIdle > 0 && d > t.MaxIdle {
		d = t.MaxIdle
	}
	if t.Speed > 0 {
		d = time.Duration(float64(d) / t.Speed)
	}
	return d
}

// Terminal plays a terminal session back: the bytes of its output events go
// to w as the user saw them, paced as they were recorded; everything else —
// the header, commands and results (an exec's exit status, sftp file
// operations), the footer with the verification status — goes to info as a
// Text transcript. Input and resize events are not shown.
//
// It is protocol-independent: any protocol that records its terminal as
// output events registers with RegisterTerminal.
type Terminal struct {
	w      io.Writer
	text   *Text
	timing Timing
	start  time.Time // session start, from session.start
	last   time.Time // time of the last output shown
}

// NewTerminal returns a renderer writing the terminal to w and the rest to
// info.
func NewTerminal(w, info io.Writer, timing Timing) *Terminal {
	if timing.Sleep == nil {
		timing.Sleep = time.Sleep
	}
	return &Terminal{w: w, text: NewText(info), timing: timing}
}

var _ Renderer = (*Terminal)(nil)

// Event shows an output event on the terminal, after the pause that preceded
// it, and hands the others to the transcript.
func (t *Terminal) Event(ev *session.Event) error {
	switch ev.Kind {
	case session.KindOutput:
		b, err := Decode[session.Bytes](ev)
		if err != nil {
			return err
		}
		prev := t.last
		if prev.IsZero() {
			prev = t.start
		}
		if d := t.timing.delay(ev.Time.Sub(prev)); d > 0 && !prev.IsZero() {
			t.timing.Sleep(d)
		}
		t.last = ev.Time
		_, err = t.w.Write(b.Data)
		return err
	case session.KindStart:
		t.start = ev.Time
	}
	return t.text.Event(ev)
}

// Finish writes the transcript's footer.
func (t *Terminal) Finish(info *session.Info, rep session.Report) error {
	return t.text.Finish(info, rep)
}

// SleepContext returns a Sleep for Timing that returns early once done is
// closed (an interrupted playback).
func SleepContext(done <-chan struct{}) func(time.Duration) {
	return func(d time.Duration) {
		timer := time.NewTimer(d)
		defer timer.Stop()
		select {
		case <-timer.C:
		case <-done:
		}
	}
}
