package mysql_test

import (
	"bytes"
	"database/sql"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/go-sql-driver/mysql"
)

// openDB opens go-sql-driver/mysql through the broker with one connection:
// TLS, the token as a clear-text password, server-side prepared statements
// (the driver's default).
func openDB(t *testing.T, conn, user string, params string, groups ...string) *sql.DB {
	t.Helper()
	tok := token(t, user, groups...)
	tlsParam := "skip-verify"
	if conn == connPlain {
		tlsParam = "false"
	}
	dsn := fmt.Sprintf("%s:%s@tcp(%s)/app?tls=%s&allowCleartextPasswords=true&timeout=10s%s", user, tok, srv.Addr(conn), tlsParam, params)
	d, err := sql.Open("mysql", dsn)
	if err != nil {
		t.Fatal(err)
	}
	d.SetMaxOpenConns(1)
	d.SetMaxIdleConns(1)
	t.Cleanup(func() { d.Close() })
	return d
}

func TestDriverPreparedBinaryRows(t *testing.T) {
	d := openDB(t, connMain, "gopher", "&parseTime=true", "dev")
	must := func(_ sql.Result, err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	must(d.Exec(`CREATE TABLE IF NOT EXISTS typed (id INT PRIMARY KEY, amount DECIMAL(10,2), at DATETIME(6),
		data BLOB, note VARCHAR(20) NULL, f DOUBLE, u BIGINT UNSIGNED)`))
	must(d.Exec("DELETE FROM typed"))
	at := time.Date(2024, 2, 29, 13, 45, 30, 123456000, time.UTC)
	blob := []byte{0, 1, 2, 0xfe, 0xff}
	ins, err := d.Prepare("INSERT INTO typed VALUES (?, ?, ?, ?, ?, ?, ?)")
	if err != nil {
		t.Fatal(err)
	}
	must(ins.Exec(1, "12.34", at, blob, nil, 1.5, uint64(1<<63)))
	must(ins.Exec(2, "-0.05", at.Add(time.Hour), []byte("text"), "hello", -2.25, uint64(7)))
	ins.Close()

	rows, err := d.Query("SELECT id, amount, at, data, note, f, u FROM typed WHERE id >= ? ORDER BY id", 1)
	if err != nil {
		t.Fatal(err)
	}
	type row struct {
		id     int
		amount string
		at     time.Time
		data   []byte
		note   sql.NullString
		f      float64
		u      uint64
	}
	var got []row
	for rows.Next() {
		var r row
		if err := rows.Scan(&r.id, &r.amount, &r.at, &r.data, &r.note, &r.f, &r.u); err != nil {
			t.Fatal(err)
		}
		got = append(got, r)
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	if len(got) != 2 || got[0].amount != "12.34" || !got[0].at.Equal(at) || !bytes.Equal(got[0].data, blob) || got[0].note.Valid ||
		got[0].u != 1<<63 || got[1].note.String != "hello" || got[1].f != -2.25 {
		t.Fatalf("rows %+v", got)
	}
	d.Close()

	_, rec := sessionRecord(t, "gopher")
	var exec, sel uint64
	for _, seq := range rec.Order {
		c := rec.Commands[seq]
		if c.Type == "execute" && strings.HasPrefix(c.Text, "INSERT") && exec == 0 {
			exec = seq
		}
		if c.Type == "execute" && strings.HasPrefix(c.Text, "SELECT id") {
			sel = seq
		}
	}
	if exec == 0 || sel == 0 {
		t.Fatalf("commands %+v; want the prepared INSERT and SELECT executed", rec.Commands)
	}
	c := rec.Commands[exec]
	params := make([]string, len(c.Params))
	for i, p := range c.Params {
		params[i] = str(p)
	}
	if want := "1|12.34|2024-02-29 13:45:30.123456|0x000102FEFF|NULL|1.5|9223372036854775808"; strings.Join(params, "|") != want {
		t.Errorf("recorded params %q; want %q (types %v)", strings.Join(params, "|"), want, c.ParamTypes)
	}
	res := rec.ResultsOf(sel)
	if len(res) != 1 || len(res[0].Rows) != 2 {
		t.Fatalf("results %+v; want 2 rows", res)
	}
	var cells []string
	for _, v := range res[0].Rows[0] {
		cells = append(cells, str(v))
	}
	if want := "1|12.34|2024-02-29 13:45:30.123456|0x000102FEFF|NULL|1.5|9223372036854775808"; strings.Join(cells, "|") != want {
		t.Errorf("recorded binary row %q; want %q", strings.Join(cells, "|"), want)
	}
	var types []string
	for _, col := range res[0].Columns {
		types = append(types, col.Type)
	}
	if want := "int,decimal,datetime,blob,varchar,double,bigint unsigned"; strings.Join(types, ",") != want {
		t.Errorf("column types %q; want %q", strings.Join(types, ","), want)
	}
}

func TestDriverErrorsAndMultiStatements(t *testing.T) {
	d := openDB(t, connMain, "gopher2", "&multiStatements=true", "dba")
	_, err := d.Exec("INSERT INTO nowhere VALUES (?)", 1)
	var me *mysql.MySQLError
	if !asMySQLError(err, &me) || me.Number != 1146 || string(me.SQLState[:]) != "42S02" {
		t.Fatalf("err %v; want 1146 (42S02)", err)
	}
	if _, err := d.Exec("CREATE TEMPORARY TABLE t2 (a INT); INSERT INTO t2 VALUES (1); INSERT INTO t2 VALUES (2), (3)"); err != nil {
		t.Fatal(err)
	}
	var n int
	if err := d.QueryRow("SELECT COUNT(*) FROM t2").Scan(&n); err != nil || n != 3 {
		t.Fatalf("count %d, %v; want 3", n, err)
	}
	d.Close()
	_, rec := sessionRecord(t, "gopher2")
	res := rec.ResultsOf(rec.SeqOf(t, "CREATE TEMPORARY TABLE t2"))
	if len(res) != 3 || res[2].AffectedRows != 2 {
		t.Fatalf("results %+v; want 3, the last with 2 rows affected", res)
	}
}

func asMySQLError(err error, target **mysql.MySQLError) bool {
	e, ok := err.(*mysql.MySQLError)
	if ok {
		*target = e
	}
	return ok
}
