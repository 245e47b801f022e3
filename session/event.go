package session

import (
	"encoding/json"
	"time"
)

// Kind is an event kind. The set is shared by all protocols.
type Kind string

// Event kinds.
const (
	KindStart   Kind = "session.start" // payload: Info
	KindCommand Kind = "command"       // payload: Command; durable before it is forwarded
	KindResult  Kind = "result"        // payload: Result
	KindOutput  Kind = "output"        // payload: Bytes (terminal output, server to client)
	KindInput   Kind = "input"         // payload: Bytes (terminal input, client to server)
	KindResize  Kind = "resize"        // payload: Resize
	KindError   Kind = "error"         // payload: Error (a session-level problem)
	KindPolicy  Kind = "policy"        // payload: Decision (a command that was not allowed)
	KindReview  Kind = "review"        // payload: protocol-independent review state
	KindEnd     Kind = "session.end"   // payload: End; carries the seal
)

// Outcome is how a session ended.
type Outcome string

// Outcomes.
const (
	OutcomeOK     Outcome = "ok"
	OutcomeError  Outcome = "error"
	OutcomeDenied Outcome = "denied"
	OutcomeKilled Outcome = "killed"
)

// Principal is the identity that started the chain: the user.
type Principal struct {
	Subject string   `json:"sub"`
	Name    string   `json:"name,omitempty"`
	Email   string   `json:"email,omitempty"`
	Issuer  string   `json:"iss,omitempty"`
	Groups  []string `json:"groups,omitempty"`
}

// Actor is one agent in a delegation chain (RFC 8693 "act").
type Actor struct {
	Subject string `json:"sub"`
	Issuer  string `json:"iss,omitempty"`
}

// Info describes a session. It is the payload of session.start, and, with Ended
// and Outcome filled in, the session's entry in the store's index.
type Info struct {
	ID         string    `json:"id"`
	Connection string    `json:"connection"`
	Protocol   string    `json:"protocol"`
	Principal  Principal `json:"principal"`
	// Actors is the delegation chain, nearest agent first.
	Actors []Actor `json:"actors,omitempty"`
	// Parent is the session inside which the caller's token was minted.
	Parent     string    `json:"parent,omitempty"`
	ClientAddr string    `json:"client_addr,omitempty"`
	BrokerID   string    `json:"broker_id,omitempty"`
	Started    time.Time `json:"started"`
	Ended      time.Time `json:"ended,omitzero"`
	Outcome    Outcome   `json:"outcome,omitempty"`
	// Reason says why a session was denied or ended in error.
	Reason string `json:"reason,omitempty"`
	// Meta is protocol detail: database, client application, upstream address.
	Meta map[string]string `json:"meta,omitempty"`
}

// Event is one decoded record.
type Event struct {
	Session string          `json:"session"`
	Seq     uint64          `json:"seq"`
	Time    time.Time       `json:"time"`
	Kind    Kind            `json:"kind"`
	Payload json.RawMessage `json:"payload"`
	Meta    json.RawMessage `json:"meta,omitempty"`
}

// Value is a recorded value: a bound parameter or a row cell. Null is a nil
// *Value in slices; binary values that can't be shown as text are hex with
// Format "hex".
type Value = *string

// Command is the payload of a command event: something the client asked the
// upstream to do.
type Command struct {
	// Type is the protocol's name for the request: "query", "execute", "copy",
	// "cancel", "function_call".
	Type string `json:"type"`
	// Text is the statement, the exec'd command line or the request line.
	Text string `json:"text,omitempty"`
	// Statement and Portal name prepared statements and portals.
	Statement string `json:"statement,omitempty"`
	Portal    string `json:"portal,omitempty"`
	// Params are the bound parameters, in order; nil is SQL NULL.
	Params []Value `json:"params,omitempty"`
	// ParamTypes are the parameters' type names, where known.
	ParamTypes []string `json:"param_types,omitempty"`
	// TouchesIdentity says the command tries to change the identity the broker
	// attached downstream (e.g. SET hoop.user); the policy refuses it.
	TouchesIdentity bool `json:"touches_identity,omitempty"`
	// HTTP is the request of an http or kube session, secrets redacted.
	HTTP *HTTPRequest `json:"http,omitempty"`
}

// HTTPRequest details an HTTP request (http and kube sessions). Credentials
// are never in it: Authorization and similar headers are redacted, and kube
// sessions redact Secret values from bodies.
type HTTPRequest struct {
	Method string              `json:"method"`
	Path   string              `json:"path"`
	Query  string              `json:"query,omitempty"`
	Header map[string][]string `json:"header,omitempty"`
	// Body is the start of the request body, up to the connection's cap;
	// BodyBytes counts it whole.
	Body          string `json:"body,omitempty"`
	BodyBytes     int64  `json:"body_bytes,omitempty"`
	BodyTruncated bool   `json:"body_truncated,omitempty"`
	// Kube is the Kubernetes API request the path names (kube sessions).
	Kube *KubeRequest `json:"kube,omitempty"`
}

// KubeRequest is a Kubernetes API call as the API server authorizes it.
type KubeRequest struct {
	Verb        string `json:"verb"`
	Group       string `json:"group,omitempty"`
	Version     string `json:"version,omitempty"`
	Resource    string `json:"resource,omitempty"`
	Subresource string `json:"subresource,omitempty"`
	Namespace   string `json:"namespace,omitempty"`
	Name        string `json:"name,omitempty"`
}

// HTTPResponse details an HTTP response (http and kube sessions).
type HTTPResponse struct {
	Status int                 `json:"status"`
	Header map[string][]string `json:"header,omitempty"`
	// Body is the start of the response body, up to the connection's cap
	// (redacted like requests); BodyBytes counts it whole, streamed or not.
	Body          string `json:"body,omitempty"`
	BodyBytes     int64  `json:"body_bytes,omitempty"`
	BodyTruncated bool   `json:"body_truncated,omitempty"`
	// Kind is the Kubernetes object kind of the body (ConfigMapList, Status).
	Kind string `json:"kind,omitempty"`
	// Upgrade is the protocol the connection switched to (websocket,
	// SPDY/3.1); the byte counts then cover the upgraded stream.
	Upgrade  string `json:"upgrade,omitempty"`
	BytesIn  int64  `json:"bytes_in,omitempty"`
	BytesOut int64  `json:"bytes_out,omitempty"`
}

// Column describes a result column.
type Column struct {
	Name string `json:"name"`
	Type string `json:"type,omitempty"`
}

// Result is the payload of a result event: the response to one command (one
// statement of a multi-statement query produces one result each).
type Result struct {
	// Command is the seq of the command event this answers (0 for asynchronous
	// messages such as notifications).
	Command uint64   `json:"command,omitempty"`
	Columns []Column `json:"columns,omitempty"`
	// Rows are the first rows, up to the connection's caps.
	Rows [][]Value `json:"rows,omitempty"`
	// RowCount counts all rows the upstream sent, kept or not.
	RowCount int64 `json:"row_count"`
	// Truncated says the caps cut Rows short.
	Truncated bool `json:"truncated,omitempty"`
	// Tag is the command tag (SELECT 3, INSERT 0 1, ...).
	Tag string `json:"tag,omitempty"`
	// Error is set when the command failed.
	Error *Error `json:"error,omitempty"`
	// Notices are the notices and warnings sent while the command ran.
	Notices []Error `json:"notices,omitempty"`
	// Notification is an asynchronous notification (Postgres NOTIFY).
	Notification *Notification `json:"notification,omitempty"`
	// Copy counts the bytes of a COPY in either direction; Data keeps the first
	// ones, up to the cap.
	Copy *Copy `json:"copy,omitempty"`
	// Duration is from the command's forwarding to its completion.
	Duration time.Duration `json:"duration_ns,omitempty"`
	// AffectedRows, LastInsertID, Warnings and Info are MySQL's OK packet:
	// rows changed, the AUTO_INCREMENT value generated, the warning count and
	// the server's info message ("Records: 3  Duplicates: 0  Warnings: 0").
	AffectedRows uint64 `json:"affected_rows,omitempty"`
	LastInsertID uint64 `json:"last_insert_id,omitempty"`
	Warnings     uint16 `json:"warnings,omitempty"`
	Info         string `json:"info,omitempty"`
	// HTTP is the response of an http or kube session.
	HTTP *HTTPResponse `json:"http,omitempty"`
	// Exit is how a remote command or shell ended (SSH exit-status or
	// exit-signal).
	Exit *Exit `json:"exit,omitempty"`
	// BytesIn and BytesOut count the bytes a stream carried, client to
	// upstream and back: an SSH channel, a forwarded connection, a file
	// written or read over sftp.
	BytesIn  int64 `json:"bytes_in,omitempty"`
	BytesOut int64 `json:"bytes_out,omitempty"`
}

// Error describes an error or a notice, as the upstream (or the broker) said it.
type Error struct {
	Severity string `json:"severity,omitempty"`
	Code     string `json:"code,omitempty"` // SQLSTATE, MySQL error number, exit status
	// SQLState is the SQLSTATE of an error whose Code is something else (MySQL).
	SQLState string `json:"sqlstate,omitempty"`
	Message  string `json:"message"`
	Detail   string `json:"detail,omitempty"`
	Hint     string `json:"hint,omitempty"`
	Position int32  `json:"position,omitempty"`
}

// Notification is an asynchronous notification.
type Notification struct {
	PID     uint32 `json:"pid"`
	Channel string `json:"channel"`
	Payload string `json:"payload,omitempty"`
}

// Copy is the data of a COPY.
type Copy struct {
	Direction string `json:"direction"` // "in" (client to server) or "out"
	Bytes     int64  `json:"bytes"`
	Data      string `json:"data,omitempty"`
	Truncated bool   `json:"truncated,omitempty"`
}

// Decision is the payload of a policy event: a command that was not allowed.
type Decision struct {
	Action  string  `json:"action"` // deny (review comes later)
	Rule    string  `json:"rule"`
	Message string  `json:"message"`
	Command Command `json:"command"`
}

// Bytes is the payload of input and output events.
type Bytes struct {
	Data   []byte `json:"data"`
	Stream string `json:"stream,omitempty"` // stdout, stderr
}

// Resize is the payload of a resize event.
type Resize struct {
	Cols int `json:"cols"`
	Rows int `json:"rows"`
}

// Exit is how a remote process ended.
type Exit struct {
	// Status is the exit status; 0 when a signal ended the process.
	Status int `json:"status"`
	// Signal names the signal that ended it, without "SIG" (TERM, KILL).
	Signal     string `json:"signal,omitempty"`
	CoreDumped bool   `json:"core_dumped,omitempty"`
	// Message is the message sent with the signal.
	Message string `json:"message,omitempty"`
}

// End is the payload of session.end.
type End struct {
	Outcome Outcome `json:"outcome"`
	Reason  string  `json:"reason,omitempty"`
	// Key names the key whose signature seals the record (KeyID).
	Key string `json:"key"`
}
