package ssh

import (
	"encoding/binary"
	"errors"
	"io"

	"github.com/hoophq/hoop/protocols/ssh/sftp"
)

// sftpIn relays the client's sftp requests packet by packet: each file
// operation is recorded as a command, durably, before its packet goes
// upstream; a refused one is answered with SSH_FXP_STATUS and not forwarded.
// The packet bytes are forwarded as read.
func (h *channel) sftpIn(tr *sftp.Tracker) {
	r := sftp.NewReader(h.ch)
	for {
		pkt, err := r.Next()
		if err != nil {
			switch {
			case err == io.EOF:
				h.up.CloseWrite()
			case errors.Is(err, sftp.ErrTooLarge):
				h.notice("sftp: a request was larger than the broker accepts; closing")
				h.ch.Close()
				h.up.Close()
			}
			return
		}
		h.in.n.Add(int64(len(pkt)))
		req, perr := sftp.ParseRequest(pkt[4:])
		if perr != nil {
			// What it would do is unknown: it is not forwarded.
			if _, err := h.ch.Write(sftp.Status(packetID(pkt), sftp.StatusBadMessage, "hoop: "+perr.Error())); err != nil {
				return
			}
			continue
		}
		var seq uint64
		if cmd := tr.Command(req); cmd != nil {
			if seq, err = h.c.sess.Command(cmd); err != nil {
				if _, err := h.ch.Write(sftp.Status(req.ID, sftp.StatusPermissionDenied, "hoop: "+refusal(err))); err != nil {
					return
				}
				continue
			}
		}
		tr.Sent(req, seq)
		if _, err := h.up.Write(pkt); err != nil {
			tr.Forget(req)
			return
		}
	}
}

// packetID is the request id of a packet too malformed to parse, or 0.
func packetID(pkt []byte) uint32 {
	if len(pkt) < 9 {
		return 0
	}
	return binary.BigEndian.Uint32(pkt[5:9])
}

// sftpOut relays the upstream's sftp responses packet by packet, recording the
// errors of recorded commands and the byte counts of closed files.
func (h *channel) sftpOut(tr *sftp.Tracker) {
	r := sftp.NewReader(h.up)
	for {
		pkt, err := r.Next()
		if err != nil {
			if errors.Is(err, sftp.ErrTooLarge) {
				h.notice("sftp: the upstream sent a response larger than the broker accepts; closing")
				h.ch.Close()
				h.up.Close()
			}
			return
		}
		h.stdout.n.Add(int64(len(pkt)))
		if resp, perr := sftp.ParseResponse(pkt[4:]); perr == nil {
			if res := tr.Response(resp); res != nil {
				if err := h.c.sess.Result(res); err != nil {
					h.abort(err)
					return
				}
			}
		}
		if _, err := h.ch.Write(pkt); err != nil {
			return
		}
	}
}
