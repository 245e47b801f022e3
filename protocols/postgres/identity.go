package postgres

import "strings"

// identityPrefix is the prefix of the settings the broker attaches downstream
// (hoop.user, hoop.groups, hoop.session, hoop.actors).
const identityPrefix = "hoop."

// oidSetConfig is pg_catalog.set_config(text, text, boolean), which a client
// can call with the FunctionCall message as well as from SQL.
const oidSetConfig = 2078

// maxNesting bounds how deep the guard looks into string constants that hold
// SQL (DO blocks, function bodies, EXECUTE strings).
const maxNesting = 4

// touchesIdentity reports whether sql may change one of the hoop.* settings
// the broker attached to the upstream session. The policy refuses such
// commands. It flags:
//
//   - SET [SESSION | LOCAL] hoop.x {TO | =} ..., wherever SET appears, so also
//     ALTER ROLE / DATABASE / SYSTEM ... SET hoop.x and CREATE FUNCTION ...
//     SET hoop.x; the name may be quoted or spaced ("hoop.user", hoop . user);
//   - set_config('hoop.x', ...), and set_config whose first argument is not a
//     plain string constant (an expression, a parameter, a named argument);
//   - UPDATE pg_settings, which calls set_config for each row it changes;
//   - any of these inside string constants — DO blocks and function bodies are
//     strings — up to maxNesting levels deep.
//
// RESET and DISCARD are not flagged: they restore the startup values, which
// are the broker's. SQL built at run time from pieces (EXECUTE 'SET ' || x) is
// out of a lexer's reach.
func touchesIdentity(sql string) bool { return touches(sql, 0) }

// analyze lexes sql once for the identity guard and for the prepared
// statements it creates or drops.
func analyze(sql string) (touches bool, effects []preparedEffect) {
	toks, _ := lexAll(sql)
	return touchesTokens(toks, 0), preparedEffectsOf(sql, toks)
}

func touches(sql string, depth int) bool {
	toks, _ := lexAll(sql)
	return touchesTokens(toks, depth)
}

func touchesTokens(toks []token, depth int) bool {
	for i, t := range toks {
		switch {
		case t.kind == tokIdent && t.text == "set":
			if setsIdentity(toks[i+1:]) {
				return true
			}
		case isWord(t, "set_config") && i+1 < len(toks) && isOp(toks[i+1], "("):
			if !safeSetConfigName(toks[i+2:]) {
				return true
			}
		case t.kind == tokIdent && t.text == "update":
			if updatesSettings(toks[i+1:]) {
				return true
			}
		case t.kind == tokString && depth < maxNesting && len(t.text) >= len("set hoop.x"):
			if touches(t.text, depth+1) {
				return true
			}
		}
	}
	return false
}

// setsIdentity looks at what follows SET: [SESSION | LOCAL] name.
func setsIdentity(toks []token) bool {
	if len(toks) > 0 && toks[0].kind == tokIdent && (toks[0].text == "session" || toks[0].text == "local") {
		// SET SESSION hoop.x, but also SET SESSION AUTHORIZATION, which the
		// name check below lets through.
		if len(toks) > 1 && (toks[1].kind == tokIdent || toks[1].kind == tokQuoted) {
			toks = toks[1:]
		}
	}
	name, escaped := qualifiedName(toks)
	return escaped || isIdentityName(name)
}

// qualifiedName joins name [. name ...] at the start of toks, folded as
// PostgreSQL folds setting names (case-insensitively). escaped reports a part
// the lexer could not interpret (U&"...").
func qualifiedName(toks []token) (name string, escaped bool) {
	var parts []string
	for i := 0; i < len(toks); i += 2 {
		t := toks[i]
		if t.kind != tokIdent && t.kind != tokQuoted {
			break
		}
		escaped = escaped || t.escaped
		parts = append(parts, strings.ToLower(t.text))
		if i+1 >= len(toks) || !isOp(toks[i+1], ".") {
			break
		}
	}
	return strings.Join(parts, "."), escaped
}

// isIdentityName reports whether a setting name is one of the broker's.
func isIdentityName(name string) bool {
	return strings.HasPrefix(strings.ToLower(name), identityPrefix)
}

// safeSetConfigName reports whether the first argument of a set_config call
// (toks starts after the opening parenthesis) is a plain string constant that
// names a setting other than the broker's.
func safeSetConfigName(toks []token) bool {
	if len(toks) < 2 || toks[0].kind != tokString || toks[0].escaped || !isOp(toks[1], ",") {
		return false
	}
	return !isIdentityName(toks[0].text)
}

// updatesSettings looks at what follows UPDATE: [ONLY] [pg_catalog.]pg_settings.
func updatesSettings(toks []token) bool {
	if len(toks) > 0 && toks[0].kind == tokIdent && toks[0].text == "only" {
		toks = toks[1:]
	}
	name, _ := qualifiedName(toks)
	return name == "pg_settings" || strings.HasSuffix(name, ".pg_settings")
}

// isWord reports whether t is the word w, unquoted or quoted exactly.
func isWord(t token, w string) bool {
	return (t.kind == tokIdent || t.kind == tokQuoted) && t.text == w
}

func isOp(t token, op string) bool { return t.kind == tokOp && t.text == op }

// functionCallTouchesIdentity reports whether a FunctionCall message calls
// set_config on one of the broker's settings (or with an argument the broker
// can't read).
func functionCallTouchesIdentity(oid uint32, args [][]byte) bool {
	if oid != oidSetConfig {
		return false
	}
	if len(args) == 0 || args[0] == nil {
		return true
	}
	// text's binary and text formats are the same bytes.
	return isIdentityName(string(args[0]))
}

// preparedEffect is what a SQL-level PREPARE, DEALLOCATE or DISCARD ALL does
// to the session's prepared statements, which the protocol's Bind can use.
type preparedEffect struct {
	// Tag is the command tag the server answers it with.
	Tag  string
	Name string
	// SQL is the prepared statement's text (PREPARE).
	SQL string
}

// Command tags of statements that change prepared statements.
const (
	tagPrepare       = "PREPARE"
	tagDeallocate    = "DEALLOCATE"
	tagDeallocateAll = "DEALLOCATE ALL"
	tagDiscardAll    = "DISCARD ALL"
)

// preparedEffects finds the statements of sql that create or drop prepared
// statements, in order, so that the backend can apply them when the server
// confirms them with their command tags.
func preparedEffects(sql string) []preparedEffect {
	toks, _ := lexAll(sql)
	return preparedEffectsOf(sql, toks)
}

func preparedEffectsOf(sql string, toks []token) []preparedEffect {
	var out []preparedEffect
	for start := 0; start < len(toks); {
		end := start
		for end < len(toks) && !isOp(toks[end], ";") {
			end++
		}
		stop := len(sql) // where the statement's text ends: its semicolon
		if end < len(toks) {
			stop = toks[end].pos
		}
		if e, ok := preparedEffectOf(sql[:stop], toks[start:end]); ok {
			out = append(out, e)
		}
		start = end + 1
	}
	return out
}

// preparedEffectOf reads one statement st; sql ends where the statement does.
func preparedEffectOf(sql string, st []token) (preparedEffect, bool) {
	if len(st) < 2 || st[0].kind != tokIdent {
		return preparedEffect{}, false
	}
	name := func(t token) (string, bool) {
		switch t.kind {
		case tokIdent, tokQuoted:
			return t.text, !t.escaped
		}
		return "", false
	}
	switch st[0].text {
	case "prepare":
		n, ok := name(st[1])
		if !ok || len(st) > 2 && st[2].kind == tokString {
			return preparedEffect{}, false // PREPARE TRANSACTION 'id'
		}
		depth := 0
		for i := 2; i < len(st); i++ {
			switch {
			case isOp(st[i], "("):
				depth++
			case isOp(st[i], ")"):
				depth--
			case depth == 0 && st[i].kind == tokIdent && st[i].text == "as" && i+1 < len(st):
				return preparedEffect{Tag: tagPrepare, Name: n, SQL: strings.TrimSpace(sql[st[i+1].pos:])}, true
			}
		}
	case "deallocate":
		st = st[1:]
		if st[0].kind == tokIdent && st[0].text == "prepare" && len(st) > 1 {
			st = st[1:]
		}
		if st[0].kind == tokIdent && st[0].text == "all" {
			return preparedEffect{Tag: tagDeallocateAll}, true
		}
		if n, ok := name(st[0]); ok {
			return preparedEffect{Tag: tagDeallocate, Name: n}, true
		}
	case "discard":
		if st[1].kind == tokIdent && st[1].text == "all" {
			return preparedEffect{Tag: tagDiscardAll}, true
		}
	}
	return preparedEffect{}, false
}
