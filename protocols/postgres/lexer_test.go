package postgres

import (
	"strings"
	"testing"
)

func TestTouchesIdentity(t *testing.T) {
	flagged := []string{
		"SET hoop.user = 'x'",
		"set hoop.user to 'x'",
		"SET SESSION hoop.user = 'x'",
		"SET LOCAL hoop.groups TO 'admin'",
		`SET "hoop.user" = 'x'`,
		`SET "HOOP.USER" = 'x'`,
		`SET "hoop"."user" = 'x'`,
		`SET hoop."user" = 'x'`,
		"SET hoop . user = 'x'",
		"SET /* c */ hoop -- c\n . /* nested /* c */ */ user = 'x'",
		"SET Hoop.Session = 'x'",
		"select 1; set hoop.user = 'x'",
		"begin; set local hoop.user = 'x'; commit",
		`SET U&"\0068oop.user" = 'x'`,
		"select set_config('hoop.user', 'x', false)",
		"SELECT SET_CONFIG('HOOP.user', 'x', false)",
		"select pg_catalog.set_config('hoop.groups', 'x', true)",
		`select "set_config"('hoop.user', 'x', false)`,
		"select set_config($1, 'x', false)",
		"select set_config('hoo' || 'p.user', 'x', false)",
		"select set_config(name, 'x', false) from t",
		"select set_config(setting_name => 'hoop.user', new_value => 'x', is_local => false)",
		"select set_config('hoop.user'::text, 'x', false)",
		"select set_config(E'hoop\\x2euser', 'x', false)",
		"select set_config(E'\\u0068oop.user', 'x', false)",
		"select set_config(U&'\\0068oop.user', 'x', false)",
		"select set_config($$hoop.user$$, 'x', false)",
		"select set_config($tag$hoop.user$tag$, 'x', false)",
		"select set_config('ho'\n'op.user', 'x', false)",
		"ALTER ROLE app SET hoop.user = 'x'",
		"alter database app set hoop.user to 'x'",
		"ALTER ROLE app IN DATABASE app SET hoop.user = 'x'",
		"alter system set hoop.user = 'x'",
		"create function f() returns int language sql set hoop.user = 'x' as 'select 1'",
		"update pg_settings set setting = 'x' where name = 'hoop.user'",
		"UPDATE ONLY pg_catalog.pg_settings SET setting = 'x'",
		"do $$ begin perform set_config('hoop.user', 'x', false); end $$",
		"do $body$ begin execute 'set hoop.user = ''x'''; end $body$",
		"create function f() returns void language plpgsql as 'begin set hoop.user = ''x''; end'",
		"prepare p as select set_config('hoop.user', $1, false)",
		// String constants are searched as SQL (function bodies, DO blocks
		// and EXECUTE strings are strings), so text that merely quotes such
		// a statement is flagged too: a false positive by design.
		"select 'SET hoop.user = 1'",
	}
	allowed := []string{
		"select 1",
		"SET search_path = public",
		"SET SESSION AUTHORIZATION DEFAULT",
		"set application_name = 'hoop.user'",
		"RESET hoop.user",
		`reset "hoop.user"`,
		"RESET ALL",
		"DISCARD ALL",
		"show hoop.user",
		"select current_setting('hoop.user')",
		"select set_config('search_path', 'public', false)",
		"select set_config($$application_name$$, 'x', false)",
		"-- set hoop.user = 'x'\nselect 1",
		"/* set hoop.user = 'x' */ select 1",
		`select "set hoop.user"`,
		"update t set hoop = 1",
		"update settings set setting = 1",
		"select e'it''s', 'set_config' from t",
		"select $1, $2::text",
	}
	for _, sql := range flagged {
		if !touchesIdentity(sql) {
			t.Errorf("not flagged: %s", sql)
		}
	}
	for _, sql := range allowed {
		if touchesIdentity(sql) {
			t.Errorf("flagged: %s", sql)
		}
	}
	if !functionCallTouchesIdentity(oidSetConfig, [][]byte{[]byte("HOOP.user"), []byte("x")}) ||
		!functionCallTouchesIdentity(oidSetConfig, [][]byte{nil}) ||
		functionCallTouchesIdentity(oidSetConfig, [][]byte{[]byte("search_path")}) ||
		functionCallTouchesIdentity(1, [][]byte{[]byte("hoop.user")}) {
		t.Error("FunctionCall to set_config misjudged")
	}
}

func TestLexer(t *testing.T) {
	toks, ok := lexAll(`SELECT "A""b", 'it''s', E'a\'b\n', $q$x$y$q$, $1, x$y, 1.5e3, a::int, /* /* n */ */ b -- c`)
	if !ok {
		t.Fatal("lexed as unterminated")
	}
	var got []string
	for _, tk := range toks {
		got = append(got, tk.text)
	}
	want := []string{"select", `A"b`, ",", "it's", ",", "a'b\n", ",", "x$y", ",", "$1", ",", "x$y", ",", "1.5e3", ",", "a", "::", "int", ",", "b"}
	if strings.Join(got, "|") != strings.Join(want, "|") {
		t.Fatalf("tokens %q\n want %q", got, want)
	}
	for _, src := range []string{"'open", `"open`, "/* open", "$$ open", "e'open\\'"} {
		if _, ok := lexAll(src); ok {
			t.Errorf("%q lexed as terminated", src)
		}
	}
}

func TestPreparedEffects(t *testing.T) {
	got := preparedEffects(`select 1; PREPARE "P1" (int) AS select $1 + 1; prepare transaction 'x'; deallocate prepare p2; DEALLOCATE ALL; discard all; prepare p3 as delete from t where a = ';'`)
	want := []preparedEffect{
		{Tag: tagPrepare, Name: "P1", SQL: "select $1 + 1"},
		{Tag: tagDeallocate, Name: "p2"},
		{Tag: tagDeallocateAll},
		{Tag: tagDiscardAll},
		{Tag: tagPrepare, Name: "p3", SQL: "delete from t where a = ';'"},
	}
	if len(got) != len(want) {
		t.Fatalf("got %+v; want %+v", got, want)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("effect %d: %+v; want %+v", i, got[i], want[i])
		}
	}
}

// FuzzTouchesIdentity: the lexer never panics or hangs, and whatever text
// ends outside a string or comment, a SET of the identity after it is
// flagged — no prefix can hide it.
func FuzzTouchesIdentity(f *testing.F) {
	for _, s := range []string{
		"select 1", "SET hoop.user = 'x'", "select 'a''b', e'\\'', $$x$$, \"q\"\"q\"", "/* /* */ */ -- x",
		"$a$ $b$ $a$", "U&'\\0068' UESCAPE '!'", "select 'a'\n'b'", "x$y$$", "1.5e3::int", "=>", "::",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, sql string) {
		touchesIdentity(sql)
		preparedEffects(sql)
		if _, ok := lexAll(sql); !ok {
			return
		}
		if !touchesIdentity(sql + "\n;SET hoop.user = 'x'") {
			t.Fatalf("SET hoop.user hidden after %q", sql)
		}
		if !touchesIdentity(sql + "\n;select set_config('hoop.user', 'x', false)") {
			t.Fatalf("set_config hidden after %q", sql)
		}
	})
}
