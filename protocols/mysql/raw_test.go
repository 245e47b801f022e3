package mysql_test

import (
	"encoding/binary"
	"fmt"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/go-mysql-org/go-mysql/client"
	gm "github.com/go-mysql-org/go-mysql/mysql"
)

// rawConn is a client logged in through the broker (go-mysql's client, TLS,
// the token as a clear-text password) that then writes and reads packets by
// hand, for the commands no stock client sends on demand.
type rawConn struct {
	*client.Conn
	t *testing.T
}

func dialRaw(t *testing.T, conn, user string, groups ...string) *rawConn {
	t.Helper()
	tok := token(t, user, groups...)
	c, err := client.Connect(srv.Addr(conn), user, tok, "app", func(c *client.Conn) error {
		if conn != connPlain {
			c.UseSSL(true)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	c.SetDeadline(time.Now().Add(60 * time.Second))
	return &rawConn{Conn: c, t: t}
}

// send writes a command packet.
func (r *rawConn) send(payload ...byte) {
	r.t.Helper()
	r.ResetSequence()
	if err := r.WritePacket(append(make([]byte, 4), payload...)); err != nil {
		r.t.Fatal(err)
	}
}

// recv reads one packet.
func (r *rawConn) recv() []byte {
	r.t.Helper()
	p, err := r.ReadPacket()
	if err != nil {
		r.t.Fatal(err)
	}
	return p
}

// wantErr reads an ERR packet with code.
func (r *rawConn) wantErr(code uint16, contains string) {
	r.t.Helper()
	p := r.recv()
	if p[0] != 0xff || binary.LittleEndian.Uint16(p[1:]) != code || !strings.Contains(string(p), contains) {
		r.t.Fatalf("got %q; want ERR %d containing %q", p, code, contains)
	}
}

// wantClosed checks that the broker closed the connection.
func (r *rawConn) wantClosed() {
	r.t.Helper()
	if p, err := r.ReadPacket(); err == nil {
		r.t.Fatalf("read %q; want the connection closed", p)
	}
}

func le32(v uint32) []byte { return binary.LittleEndian.AppendUint32(nil, v) }

// A cursor opened by COM_STMT_EXECUTE is read with COM_STMT_FETCH, whose
// rows are recorded with the cursor's columns.
func TestCursorFetch(t *testing.T) {
	r := dialRaw(t, connMain, "cursor", "dba")
	r.send(append([]byte{gm.COM_STMT_PREPARE}, "SELECT seq, CONCAT('r', seq) FROM seq_1_to_5 WHERE seq > ?"...)...)
	ok := r.recv()
	if ok[0] != 0 {
		t.Fatalf("prepare: %q", ok)
	}
	id := binary.LittleEndian.Uint32(ok[1:])
	for range 1 + 1 + 2 + 1 { // param def, EOF, 2 column defs, EOF
		r.recv()
	}
	exec := append([]byte{gm.COM_STMT_EXECUTE}, le32(id)...)
	exec = append(exec, 1)          // CURSOR_TYPE_READ_ONLY
	exec = append(exec, le32(1)...) // iterations
	exec = append(exec, 0, 1)       // NULL bitmap, new params bound
	exec = append(exec, gm.MYSQL_TYPE_LONGLONG, 0)
	exec = binary.LittleEndian.AppendUint64(exec, 1)
	r.send(exec...)
	for range 1 + 2 { // column count, 2 column defs
		r.recv()
	}
	if eof := r.recv(); eof[0] != 0xfe || binary.LittleEndian.Uint16(eof[3:])&gm.SERVER_STATUS_CURSOR_EXISTS == 0 {
		t.Fatalf("EOF %q; want a cursor", eof)
	}
	fetch := func(n uint32) (rows int) {
		r.send(append(append([]byte{gm.COM_STMT_FETCH}, le32(id)...), le32(n)...)...)
		for {
			p := r.recv()
			if p[0] == 0xfe && len(p) < 9 {
				return rows
			}
			rows++
		}
	}
	if a, b := fetch(3), fetch(10); a != 3 || b != 1 {
		t.Fatalf("fetched %d then %d rows; want 3 then 1", a, b)
	}
	r.send(append([]byte{gm.COM_STMT_CLOSE}, le32(id)...)...)
	r.Close()

	_, rec := sessionRecord(t, "cursor")
	var fetched []string
	for _, seq := range rec.Order {
		if c := rec.Commands[seq]; c.Type == "fetch" {
			for _, res := range rec.ResultsOf(seq) {
				for _, row := range res.Rows {
					fetched = append(fetched, str(row[0])+"="+str(row[1]))
				}
			}
		}
	}
	if want := "2=r2,3=r3,4=r4,5=r5"; strings.Join(fetched, ",") != want {
		t.Fatalf("fetched rows recorded %q; want %q", strings.Join(fetched, ","), want)
	}
}

// COM_CHANGE_USER and commands the broker does not relay are refused with an
// ERR packet; the connection goes on.
func TestRefusedCommands(t *testing.T) {
	r := dialRaw(t, connMain, "changer", "dba")
	r.send(append([]byte{gm.COM_CHANGE_USER}, "root\x00\x00app\x00"...)...)
	r.wantErr(gm.ER_ACCESS_DENIED_ERROR, "COM_CHANGE_USER is not supported")
	r.send(gm.COM_BINLOG_DUMP, 0, 0, 0, 0)
	r.wantErr(gm.ER_UNKNOWN_COM_ERROR, "COM_BINLOG_DUMP is not supported")
	r.send(gm.COM_PING)
	if p := r.recv(); p[0] != 0 {
		t.Fatalf("ping: %q", p)
	}
	res, err := r.Execute("SELECT @hoop_user")
	if err != nil {
		t.Fatal(err)
	}
	if u, _ := res.GetString(0, 0); u != "changer" {
		t.Fatalf("@hoop_user %q after the refusals; want changer", u)
	}
	r.Close()
	_, rec := sessionRecord(t, "changer")
	if len(rec.Policies) != 2 || rec.Policies[0].Rule != "mysql:change_user" || rec.Policies[0].Command.Text != "root" {
		t.Fatalf("policies %+v; want the change of user and the binlog dump refused", rec.Policies)
	}
}

// COM_RESET_CONNECTION clears the upstream session, and the broker sets the
// identity variables again.
func TestResetConnection(t *testing.T) {
	r := dialRaw(t, connMain, "resetter", "dba")
	if _, err := r.Execute("SET @mine = 1"); err != nil {
		t.Fatal(err)
	}
	r.send(gm.COM_RESET_CONNECTION)
	if p := r.recv(); p[0] != 0 {
		t.Fatalf("reset: %q", p)
	}
	res, err := r.Execute("SELECT @hoop_user, @mine")
	if err != nil {
		t.Fatal(err)
	}
	u, _ := res.GetString(0, 0)
	mine, _ := res.IsNull(0, 1)
	if u != "resetter" || !mine {
		t.Fatalf("after reset @hoop_user %q, @mine null %v; want resetter, null", u, mine)
	}
}

// KILL names only the caller's own sessions: another user's thread id is
// refused, as is an unknown one.
func TestKillOtherUser(t *testing.T) {
	victim := dialRaw(t, connMain, "victim", "dba")
	killer := dialRaw(t, connMain, "killer", "dba")
	r, err := killer.Execute(fmt.Sprintf("KILL QUERY %d", victim.GetConnectionID()))
	if err == nil || !strings.Contains(err.Error(), "1095") {
		t.Fatalf("kill another user's thread: %v %v; want ERROR 1095", r, err)
	}
	if _, err := killer.Execute("KILL 4000000000"); err == nil || !strings.Contains(err.Error(), "1094") {
		t.Fatalf("kill an unknown thread: %v; want ERROR 1094", err)
	}
	if _, err := killer.Execute("SELECT 1; KILL 1"); err == nil || !strings.Contains(err.Error(), "own") {
		t.Fatalf("kill in a batch: %v; want it refused", err)
	}
	if _, err := victim.Execute("SELECT 1"); err != nil {
		t.Fatalf("the victim's session: %v", err)
	}
}

// A malformed or oversize packet gets an ERR packet and closes that
// connection; the broker keeps serving.
func TestBadInput(t *testing.T) {
	integration(t)
	t.Run("malformed handshake response", func(t *testing.T) {
		nc, err := net.Dial("tcp", srv.Addr(connPlain))
		if err != nil {
			t.Fatal(err)
		}
		defer nc.Close()
		nc.SetDeadline(time.Now().Add(30 * time.Second))
		hdr := make([]byte, 4)
		if _, err := nc.Read(hdr); err != nil {
			t.Fatal(err)
		}
		greeting := make([]byte, int(hdr[0])|int(hdr[1])<<8)
		if _, err := readFull(nc, greeting); err != nil {
			t.Fatal(err)
		}
		bogus := []byte{5, 0, 0, 1, 0xff, 0xff, 0xff, 0xff, 0xff}
		nc.Write(bogus)
		reply := make([]byte, 512)
		n, _ := readFull(nc, reply)
		if !strings.Contains(string(reply[:n]), "Bad handshake") {
			t.Fatalf("reply %q; want Bad handshake", reply[:n])
		}
	})
	t.Run("oversize packet", func(t *testing.T) {
		r := dialRaw(t, connStrict, "big", "dba")
		r.send(append([]byte{gm.COM_QUERY}, "SELECT '"+strings.Repeat("x", 2048)+"'"...)...)
		r.wantErr(gm.ER_NET_PACKET_TOO_LARGE, "max_message_size")
		r.wantClosed()
	})
	t.Run("malformed command", func(t *testing.T) {
		r := dialRaw(t, connMain, "malformed", "dba")
		r.send(append([]byte{gm.COM_STMT_PREPARE}, "DO ?"...)...)
		ok := r.recv()
		for range 2 {
			r.recv()
		}
		id := binary.LittleEndian.Uint32(ok[1:])
		r.send(append(append([]byte{gm.COM_STMT_EXECUTE}, le32(id)...), 0, 1, 0, 0, 0, 0, 1, gm.MYSQL_TYPE_LONGLONG, 0, 1, 2)...)
		r.wantErr(gm.ER_MALFORMED_PACKET, "COM_STMT_EXECUTE")
		r.wantClosed()
	})
	t.Run("handshake timeout", func(t *testing.T) {
		nc, err := net.Dial("tcp", srv.Addr(connStrict))
		if err != nil {
			t.Fatal(err)
		}
		defer nc.Close()
		nc.SetDeadline(time.Now().Add(30 * time.Second))
		buf := make([]byte, 4096)
		for {
			if _, err := nc.Read(buf); err != nil {
				break // closed by the broker, not by our deadline
			}
		}
	})
	if out := mustMariadb(t, connMain, "after", token(t, "after", "dba"), "-B", "-N", "-e", "SELECT 'still serving'"); out != "still serving\n" {
		t.Fatalf("after bad input: %q", out)
	}
}

func readFull(nc net.Conn, b []byte) (int, error) {
	n := 0
	for n < len(b) {
		m, err := nc.Read(b[n:])
		n += m
		if err != nil {
			return n, err
		}
	}
	return n, nil
}
