package brokertest

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/hoophq/hoop/session"
)

// Recorded is a session's events decoded by kind.
type Recorded struct {
	Events   []*session.Event
	Commands map[uint64]session.Command // by seq
	Order    []uint64                   // the seqs of Commands, in order
	Results  []session.Result
	Policies []session.Decision
	Errors   []session.Error
	Outputs  []session.Bytes
	End      session.End
}

// Decode decodes the payloads of evs; one that does not decode fails the test.
func Decode(t testing.TB, evs []*session.Event) *Recorded {
	t.Helper()
	r := &Recorded{Events: evs, Commands: map[uint64]session.Command{}}
	for _, ev := range evs {
		switch ev.Kind {
		case session.KindCommand:
			r.Commands[ev.Seq] = *Payload[session.Command](t, ev)
			r.Order = append(r.Order, ev.Seq)
		case session.KindResult:
			r.Results = append(r.Results, *Payload[session.Result](t, ev))
		case session.KindPolicy:
			r.Policies = append(r.Policies, *Payload[session.Decision](t, ev))
		case session.KindError:
			r.Errors = append(r.Errors, *Payload[session.Error](t, ev))
		case session.KindOutput:
			r.Outputs = append(r.Outputs, *Payload[session.Bytes](t, ev))
		case session.KindEnd:
			r.End = *Payload[session.End](t, ev)
		}
	}
	return r
}

// Payload decodes one event's payload as a T, or fails the test.
func Payload[T any](t testing.TB, ev *session.Event) *T {
	t.Helper()
	var v T
	if err := json.Unmarshal(ev.Payload, &v); err != nil {
		t.Fatalf("event %d (%s): %v", ev.Seq, ev.Kind, err)
	}
	return &v
}

// CommandsOf returns the commands of type typ ("" for all), in order.
func (r *Recorded) CommandsOf(typ string) []session.Command {
	var out []session.Command
	for _, seq := range r.Order {
		if c := r.Commands[seq]; typ == "" || c.Type == typ {
			out = append(out, c)
		}
	}
	return out
}

// SeqOf returns the seq of the first command whose text contains s, or fails
// the test.
func (r *Recorded) SeqOf(t testing.TB, s string) uint64 {
	t.Helper()
	for _, seq := range r.Order {
		if strings.Contains(r.Commands[seq].Text, s) {
			return seq
		}
	}
	t.Fatalf("no command contains %q in %v", s, r.Commands)
	return 0
}

// ResultsOf returns the results that answer command seq.
func (r *Recorded) ResultsOf(seq uint64) []session.Result {
	var out []session.Result
	for _, res := range r.Results {
		if res.Command == seq {
			out = append(out, res)
		}
	}
	return out
}

// Output concatenates the session's output of a stream ("stdout", "stderr";
// "" for all).
func (r *Recorded) Output(stream string) string {
	var b strings.Builder
	for _, o := range r.Outputs {
		if stream == "" || o.Stream == stream {
			b.Write(o.Data)
		}
	}
	return b.String()
}
