package mysql

import (
	"regexp"
	"strings"
)

// A small SQL lexer for what the TiDB parser cannot answer: statements it
// does not parse (MariaDB syntax such as EXECUTE IMMEDIATE or KILL QUERY ID)
// still need their leading keywords and literals. It knows MySQL's comments
// (#, "-- ", /* */) and runs the contents of executable comments (/*! */,
// /*M! */) as code, because the server does; it knows quoted strings with
// backslash escapes and doubled quotes, and backquoted identifiers.

// token is a word (upper-cased keyword or identifier) or a string literal.
type token struct {
	Word    string // upper-cased; empty for a literal
	Literal string // unescaped contents of a quoted string
	IsLit   bool
	Other   bool // any other punctuation
}

// lexStatements splits sql into statements at top-level semicolons and
// returns the first max tokens of each.
func lexStatements(sql string, max int) [][]token {
	var (
		out  [][]token
		cur  []token
		exec bool // inside an executable comment
	)
	add := func(t token) {
		if len(cur) < max {
			cur = append(cur, t)
		}
	}
	for i := 0; i < len(sql); {
		c := sql[i]
		switch {
		case c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v':
			i++
		case c == '#' || (c == '-' && strings.HasPrefix(sql[i:], "--") && (i+2 == len(sql) || sql[i+2] <= ' ')):
			j := strings.IndexByte(sql[i:], '\n')
			if j < 0 {
				i = len(sql)
			} else {
				i += j + 1
			}
		case c == '/' && strings.HasPrefix(sql[i:], "/*!") || strings.HasPrefix(sql[i:], "/*M!"):
			i += strings.IndexByte(sql[i:], '!') + 1
			for i < len(sql) && sql[i] >= '0' && sql[i] <= '9' {
				i++
			}
			exec = true
		case c == '/' && strings.HasPrefix(sql[i:], "/*"):
			j := strings.Index(sql[i+2:], "*/")
			if j < 0 {
				i = len(sql)
			} else {
				i += j + 4
			}
		case c == '*' && exec && strings.HasPrefix(sql[i:], "*/"):
			exec = false
			i += 2
		case c == '\'' || c == '"':
			lit, n := unquote(sql[i:])
			add(token{Literal: lit, IsLit: true})
			i += n
		case c == '`':
			j := i + 1
			for j < len(sql) {
				if sql[j] == '`' {
					if j+1 < len(sql) && sql[j+1] == '`' {
						j += 2
						continue
					}
					break
				}
				j++
			}
			add(token{Word: strings.ToUpper(strings.ReplaceAll(sql[i+1:min(j, len(sql))], "``", "`"))})
			i = min(j+1, len(sql))
		case c == ';':
			if len(cur) > 0 {
				out = append(out, cur)
			}
			cur = nil
			i++
		case isWordByte(c):
			j := i
			for j < len(sql) && isWordByte(sql[j]) {
				j++
			}
			add(token{Word: strings.ToUpper(sql[i:j])})
			i = j
		default:
			add(token{Other: true})
			i++
		}
	}
	if len(cur) > 0 {
		out = append(out, cur)
	}
	return out
}

func isWordByte(c byte) bool {
	return c == '_' || c == '$' || c >= 0x80 || c >= '0' && c <= '9' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z'
}

// unquote reads a quoted string at the start of s and returns its contents
// and the bytes it spans. An unterminated string runs to the end.
func unquote(s string) (string, int) {
	q := s[0]
	var b strings.Builder
	i := 1
	for i < len(s) {
		c := s[i]
		switch {
		case c == '\\' && i+1 < len(s):
			switch e := s[i+1]; e {
			case 'n':
				b.WriteByte('\n')
			case 't':
				b.WriteByte('\t')
			case 'r':
				b.WriteByte('\r')
			case '0':
				b.WriteByte(0)
			case 'b':
				b.WriteByte('\b')
			case 'Z':
				b.WriteByte(26)
			case '%', '_':
				b.WriteByte('\\')
				b.WriteByte(e)
			default:
				b.WriteByte(e)
			}
			i += 2
		case c == q && i+1 < len(s) && s[i+1] == q:
			b.WriteByte(q)
			i += 2
		case c == q:
			return b.String(), i + 1
		default:
			b.WriteByte(c)
			i++
		}
	}
	return b.String(), i
}

// identityMention finds anything that could name one of the broker's
// identity variables: @hoop_..., @`hoop_...`, @'hoop_...', @"hoop_...", in
// any case, with or without blanks after the @ — in code, strings and
// comments alike, because a string may become code (PREPARE) and a comment
// may be code (/*M! */).
var identityMention = regexp.MustCompile("(?i)@[\\s]*[`'\"]?[\\s]*hoop_")

// containsFold reports whether s contains sub (lower-case ASCII letters),
// in any case.
func containsFold(s, sub string) bool {
	n := len(sub)
	for i := 0; i+n <= len(s); i++ {
		if s[i]|0x20 == sub[0] && strings.EqualFold(s[i:i+n], sub) {
			return true
		}
	}
	return false
}
