package ssh

// Channel request payloads (RFC 4254 section 6), parsed and built with
// ssh.Unmarshal and ssh.Marshal.

// ptyRequest is pty-req (section 6.2).
type ptyRequest struct {
	Term          string
	Cols, Rows    uint32
	Width, Height uint32
	Modes         string
}

// windowChange is window-change (section 6.7).
type windowChange struct {
	Cols, Rows    uint32
	Width, Height uint32
}

// envRequest is env (section 6.4).
type envRequest struct {
	Name, Value string
}

// execRequest is exec (section 6.5); subsystem has the same shape.
type execRequest struct {
	Command string
}

// signalRequest is signal (section 6.9).
type signalRequest struct {
	Signal string
}

// breakRequest is break (RFC 4335).
type breakRequest struct {
	Millis uint32
}

// exitStatus is exit-status (section 6.10).
type exitStatus struct {
	Status uint32
}

// exitSignal is exit-signal (section 6.10).
type exitSignal struct {
	Signal     string
	CoreDumped bool
	Message    string
	Lang       string
}

// directTCPIP is the extra data of a direct-tcpip channel open (section 7.2).
type directTCPIP struct {
	Host       string
	Port       uint32
	OriginHost string
	OriginPort uint32
}
