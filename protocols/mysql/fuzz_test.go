package mysql

import (
	"bytes"
	"errors"
	"io"
	"testing"

	gm "github.com/go-mysql-org/go-mysql/mysql"
)

// Fuzz targets for every decoder of the package: none may panic, and what
// they accept must be consistent. Crashers go to testdata/fuzz/<target>.

func FuzzPacketReader(f *testing.F) {
	var b bytes.Buffer
	w := newPacketWriter(&b)
	w.write(0, []byte{gm.COM_QUERY, 'S', 'E', 'L'})
	w.write(1, nil)
	w.flush()
	f.Add(b.Bytes(), 64)
	f.Add([]byte{0xff, 0xff, 0xff, 0, 1, 2}, 1<<20)
	f.Add([]byte{1, 0, 0}, 16)
	f.Fuzz(func(t *testing.T, data []byte, limit int) {
		limit = limit%(1<<16) + 1
		if limit < 0 {
			limit = -limit
		}
		r := newPacketReader(bytes.NewReader(data), limit)
		for range 64 {
			p, _, err := r.read()
			if err != nil {
				var tl *PacketTooLargeError
				if !errors.Is(err, io.EOF) && !errors.Is(err, io.ErrUnexpectedEOF) && !errors.As(err, &tl) {
					t.Fatalf("unexpected error %v", err)
				}
				return
			}
			if len(p) > limit {
				t.Fatalf("payload of %d bytes over the limit %d", len(p), limit)
			}
		}
	})
}

func FuzzHandshakeResponse(f *testing.F) {
	f.Add(sampleHandshakeResponse("alice", []byte("token\x00"), "app", gm.AUTH_CLEAR_PASSWORD))
	f.Add(sampleHandshakeResponse("", nil, "", ""))
	f.Add(make([]byte, sslRequestSize))
	f.Fuzz(func(t *testing.T, p []byte) {
		r, err := decodeHandshakeResponse(p)
		if err != nil {
			if !errors.Is(err, ErrMalformed) {
				t.Fatalf("error %v does not wrap ErrMalformed", err)
			}
			return
		}
		if len(r.Attrs) > maxAttrs {
			t.Fatalf("%d attributes kept", len(r.Attrs))
		}
		_ = clearPassword(r.AuthResponse)
	})
}

func FuzzServerPackets(f *testing.F) {
	f.Add((&okPacket{AffectedRows: 3, LastInsertID: 1 << 40, Status: 2, Warnings: 1, Info: "Records: 3"}).encode(nil))
	f.Add((&errPacket{Code: 1146, SQLState: "42S02", Message: "nope"}).encode(nil))
	f.Add(eofPacket{Warnings: 1, Status: gm.SERVER_MORE_RESULTS_EXISTS}.encode(nil))
	f.Add(sampleColumn("id", gm.MYSQL_TYPE_LONG, gm.UNSIGNED_FLAG))
	f.Add([]byte{0, 1, 0, 0, 0, 2, 0, 1, 0, 0, 0, 0})
	f.Fuzz(func(t *testing.T, p []byte) {
		if ok, err := decodeOK(p); err == nil {
			if got, err := decodeOK(ok.encode(nil)); err != nil || *got != *ok {
				t.Fatalf("OK round trip: %+v, %v; want %+v", got, err, ok)
			}
		}
		if e, err := decodeErr(p); err == nil && e.SQLState != "" {
			if got, err := decodeErr(e.encode(nil)); err != nil || *got != *e {
				t.Fatalf("ERR round trip: %+v, %v; want %+v", got, err, e)
			}
		}
		decodeEOF(p)
		decodeColumnDefinition(p)
		decodeStmtPrepareOK(p)
	})
}

func FuzzRows(f *testing.F) {
	f.Add([]byte{1, 'a', 0xfb, 2, 'b', 'c'}, []byte{gm.MYSQL_TYPE_VAR_STRING, gm.MYSQL_TYPE_LONG, gm.MYSQL_TYPE_BLOB})
	f.Add([]byte{0, 0x08, 1, 0, 0, 0, 4, 0xe8, 7, 2, 29}, []byte{gm.MYSQL_TYPE_LONG, gm.MYSQL_TYPE_NULL, gm.MYSQL_TYPE_DATE})
	f.Add([]byte{0, 0, 11, 0xe8, 7, 2, 29, 1, 2, 3, 1, 0, 0, 0, 8, 0, 1, 0, 0, 0, 2, 3, 4}, []byte{gm.MYSQL_TYPE_DATETIME, gm.MYSQL_TYPE_TIME})
	f.Fuzz(func(t *testing.T, p []byte, types []byte) {
		if len(types) > 64 {
			types = types[:64]
		}
		cols := make([]columnDefinition, len(types))
		for i, ty := range types {
			cols[i] = columnDefinition{Name: "c", Type: ty, Flags: uint16(i%2) * gm.UNSIGNED_FLAG}
		}
		if row, err := decodeTextRow(p, len(cols)); err == nil && len(row) != len(cols) {
			t.Fatalf("text row of %d values for %d columns", len(row), len(cols))
		}
		if row, err := decodeBinaryRow(p, cols); err == nil && len(row) != len(cols) {
			t.Fatalf("binary row of %d values for %d columns", len(row), len(cols))
		}
	})
}

func FuzzComStmtExecute(f *testing.F) {
	f.Add([]byte{gm.COM_STMT_EXECUTE, 1, 0, 0, 0, 0, 1, 0, 0, 0, 0, 1, gm.MYSQL_TYPE_LONGLONG, 0, 1, 0, 0, 0, 0, 0, 0, 0}, 1, false)
	f.Add([]byte{gm.COM_STMT_EXECUTE, 1, 0, 0, 0, 1, 1, 0, 0, 0, 2, 1, gm.MYSQL_TYPE_STRING, 0, gm.MYSQL_TYPE_NULL, 0, 3, 'a', 'b', 'c'}, 2, true)
	f.Fuzz(func(t *testing.T, p []byte, n int, long bool) {
		if len(p) == 0 {
			return
		}
		n %= 300
		if n < 0 {
			n = -n
		}
		var prev []paramType
		if n%3 == 0 {
			prev = make([]paramType, n)
		}
		var ld map[uint16][]byte
		if long {
			ld = map[uint16][]byte{0: []byte("long")}
		}
		e, err := decodeComStmtExecute(p, n, prev, ld)
		if err == nil && n > 0 && len(e.Params) != n {
			t.Fatalf("%d params decoded for %d", len(e.Params), n)
		}
	})
}

func FuzzCommands(f *testing.F) {
	f.Add([]byte{gm.COM_STMT_FETCH, 1, 0, 0, 0, 10, 0, 0, 0})
	f.Add([]byte{gm.COM_FIELD_LIST, 't', 0, '%'})
	f.Add([]byte{gm.COM_STMT_SEND_LONG_DATA, 1, 0, 0, 0, 0, 0, 'x'})
	f.Add([]byte{gm.COM_CHANGE_USER, 'r', 0, 0})
	f.Fuzz(func(t *testing.T, p []byte) {
		if len(p) == 0 {
			return
		}
		decodeComQuery(p)
		decodeComStmtPrepare(p)
		decodeComInitDB(p)
		decodeComStmtFetch(p)
		decodeComStmtClose(p)
		decodeComStmtReset(p)
		decodeComStmtSendLongData(p)
		decodeComFieldList(p)
		decodeComSetOption(p)
		decodeComProcessKill(p)
		decodeComChangeUser(p)
	})
}

func FuzzAnalyze(f *testing.F) {
	for _, s := range []string{
		"SET @hoop_user = 1", "SELECT @hoop_user", "KILL QUERY 5", "EXECUTE IMMEDIATE 'SELECT 1'",
		"/*M! SET @x=1 */", "LOAD DATA LOCAL INFILE 'x' INTO TABLE t", "PREPARE s FROM 'PREPARE t FROM ''KILL 1'''",
		"SELECT 'unterminated", "`a``b", "/*! unterminated",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, sql string) {
		var g guard
		info := g.analyze(sql)
		if info.Kill != nil && info.Refuse != "" {
			t.Fatalf("%q: both a kill and a refusal", sql)
		}
		if identityMention.MatchString(sql) && quick(sql) {
			t.Fatalf("%q: the quick path skips a mention", sql)
		}
	})
}

// sampleHandshakeResponse builds a HandshakeResponse41 as clients send it.
func sampleHandshakeResponse(user string, auth []byte, db, plugin string) []byte {
	caps := uint32(gm.CLIENT_PROTOCOL_41 | gm.CLIENT_SECURE_CONNECTION | gm.CLIENT_PLUGIN_AUTH |
		gm.CLIENT_PLUGIN_AUTH_LENENC_CLIENT_DATA | gm.CLIENT_CONNECT_WITH_DB | gm.CLIENT_CONNECT_ATTRS)
	b := appendU32(nil, caps)
	b = appendU32(b, 1<<24)
	b = append(b, utf8mb4GeneralCI)
	b = append(b, make([]byte, 23)...)
	b = appendNul(b, user)
	b = appendLenencString(b, auth)
	b = appendNul(b, db)
	b = appendNul(b, plugin)
	attrs := appendLenencString(appendLenencString(nil, []byte("program_name")), []byte("mysql"))
	return appendLenencString(b, attrs)
}

// sampleColumn builds a ColumnDefinition41.
func sampleColumn(name string, t byte, flags uint16) []byte {
	var b []byte
	for _, s := range []string{"def", "app", "t", "t", name, name} {
		b = appendLenencString(b, []byte(s))
	}
	b = append(b, 0x0c)
	b = appendU16(b, 63)
	b = appendU32(b, 11)
	b = append(b, t)
	b = appendU16(b, flags)
	return append(b, 0, 0, 0)
}
