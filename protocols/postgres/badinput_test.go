package postgres_test

import (
	"bytes"
	"context"
	"encoding/binary"
	"io"
	"math/rand/v2"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgconn"

	"github.com/hoophq/hoop/internal/brokertest"
	"github.com/hoophq/hoop/session"
)

// readAll reads what the broker sends until it closes the connection; the
// deadline is a hang guard.
func readAll(t *testing.T, c net.Conn) []byte {
	t.Helper()
	c.SetReadDeadline(time.Now().Add(20 * time.Second))
	b, err := io.ReadAll(c)
	if err != nil {
		t.Fatalf("the broker did not close the connection: %v (read %q)", err, b)
	}
	return b
}

// assertFatal checks that b is a FATAL ErrorResponse with code.
func assertFatal(t *testing.T, b []byte, code, msg string) {
	t.Helper()
	if len(b) < 5 || b[0] != 'E' || !bytes.Contains(b, []byte("SFATAL\x00")) || !bytes.Contains(b, []byte("C"+code+"\x00")) || !bytes.Contains(b, []byte(msg)) {
		t.Fatalf("got %q; want FATAL %s %q", b, code, msg)
	}
}

// Malformed clients lose their own connection and nothing else.
func TestBadInput(t *testing.T) {
	addr := srv.Addr(connStrict)
	dial := func() net.Conn {
		c, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { c.Close() })
		return c
	}
	startup := func(length uint32) []byte {
		b := binary.BigEndian.AppendUint32(nil, length)
		return binary.BigEndian.AppendUint32(b, 196608)
	}

	t.Run("random bytes", func(t *testing.T) {
		rng := rand.New(rand.NewPCG(1, 2))
		for range 5 {
			c := dial()
			junk := make([]byte, 64)
			for i := range junk {
				junk[i] = byte(rng.Uint32())
			}
			c.Write(junk)
			readAll(t, c)
		}
	})
	t.Run("startup over max_message_size", func(t *testing.T) {
		c := dial()
		c.Write(startup(1<<20 + 1))
		assertFatal(t, readAll(t, c), "08P01", "startup packet too large")
	})
	t.Run("startup length too small", func(t *testing.T) {
		c := dial()
		c.Write([]byte{0, 0, 0, 3})
		assertFatal(t, readAll(t, c), "08P01", "invalid startup packet")
	})
	t.Run("startup never completes", func(t *testing.T) {
		c := dial()
		c.Write(startup(100)[:6])
		assertFatal(t, readAll(t, c), "08P01", "did not complete within 300ms")
	})
	t.Run("silent client", func(t *testing.T) {
		assertFatal(t, readAll(t, dial()), "08P01", "did not complete within")
	})
	t.Run("unsupported protocol", func(t *testing.T) {
		c := dial()
		b := binary.BigEndian.AppendUint32(nil, 16)
		b = binary.BigEndian.AppendUint32(b, 2<<16)
		c.Write(append(b, "user\x00x\x00\x00\x00"...))
		assertFatal(t, readAll(t, c), "0A000", "unsupported frontend protocol 2.0")
	})

	// After login: a message over the limit, and a type clients never send.
	for _, tc := range []struct {
		name, user string
		msg        []byte
		want       string
	}{
		{"message over max_message_size", "oversize", binary.BigEndian.AppendUint32([]byte{'Q'}, 2<<20), "exceeds max_message_size"},
		{"unknown message type", "weird", []byte{'z', 0, 0, 0, 4}, `unexpected message type 'z'`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
			defer cancel()
			pc, err := pgconn.Connect(ctx, dsn(connStrict, tc.user, "require")+" password="+srv.Token(t, tc.user, "dba"))
			if err != nil {
				t.Fatal(err)
			}
			hc, err := pc.Hijack()
			if err != nil {
				t.Fatal(err)
			}
			defer hc.Conn.Close()
			hc.Conn.Write(tc.msg)
			assertFatal(t, readAll(t, hc.Conn), "08P01", tc.want)
			infos := srv.WaitEnded(t, 1, brokertest.ByClientUser(tc.user))
			if infos[0].Outcome != session.OutcomeError || !strings.Contains(infos[0].Reason, tc.want) {
				t.Fatalf("session %+v; want an error: %s", infos[0], tc.want)
			}
		})
	}

	// Another client is served all along.
	c := connect(t, connStrict, "survivor", "dba")
	var n int
	if err := c.QueryRow(context.Background(), "select 1").Scan(&n); err != nil || n != 1 {
		t.Fatalf("a good client after the bad ones: %d, %v", n, err)
	}
}
