// Package ssh serves SSH clients (ssh, scp, sftp, rsync -e ssh) for one broker
// connection and relays them to the connection's upstream sshd, recording the
// session.
//
// # Authentication
//
// A client authenticates to the broker, whose host key is generated into the
// data dir on first start (or configured), with its token as the password or
// keyboard-interactive answer, with a public key bound to an identity in the
// configuration, or with a user certificate signed by a configured CA (key id:
// the user; principals: the groups). A refusal reaches the client as an SSH
// banner before "Permission denied" and is recorded as a denied session.
//
// The broker then logs in upstream as the connection's upstream.user with its
// stored key or password, after verifying the upstream's host key against a
// pinned fingerprint or a known_hosts file. When that fails the client's
// session channels get the reason on stderr and exit status 255.
//
// # Channels
//
// Each client channel maps to one upstream channel. session channels carry
// pty-req, env (allow-listed; HOOP_* refused), shell, exec and subsystem,
// window-change, signal and break; exit-status and exit-signal come back. The
// shell, the exec'd command line and the subsystem are command events, durable
// before the request is forwarded (RFC 4254 section 6.5). The sftp subsystem is
// decoded (package sftp) so that file operations are command events of their
// own. direct-tcpip (RFC 4254 section 7.2) is refused unless the connection
// allows port forwarding; agent and X11 forwarding are refused.
//
// # Recording
//
// Terminal output, input (unless the connection turns it off) and resizes are
// output, input and resize events. For channels without a pty (scp -O, rsync,
// ssh host cmd) the bytes recorded per direction are capped by the
// connection's recording.max_bytes; their counts are in the channel's result,
// with the exit status. With a pty, a chunk of input holding a line end is
// durable before it is forwarded: the line a shell runs is on disk first.
//
// # Flow control
//
// Channel data is relayed through fixed buffers. A client or upstream that
// stops reading stops the relay's writes, the relay stops reading the other
// side, and SSH channel windows (RFC 4254 section 5.2) stall the sender: memory
// per channel is bounded by the window sizes, and the recorder's bounded queue
// slows the relay to the store's pace.
package ssh
