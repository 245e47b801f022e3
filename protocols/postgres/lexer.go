package postgres

import (
	"strconv"
	"strings"
	"unicode/utf8"
)

// tokenKind classifies SQL tokens, as far as the identity guard needs them.
type tokenKind uint8

const (
	tokIdent  tokenKind = iota + 1 // identifier or keyword, unquoted: lower-cased
	tokQuoted                      // "quoted identifier", as written with "" undone
	tokString                      // string constant, its value
	tokNumber                      // numeric constant
	tokParam                       // $1
	tokOp                          // operator or punctuation
)

// A token is one lexeme of a SQL text.
type token struct {
	kind tokenKind
	text string
	// pos is the token's start offset in the source.
	pos int
	// escaped marks a constant or identifier whose value the lexer did not
	// fully interpret (U&'' or U&"" with Unicode escapes, an E'' string with an
	// escape it does not decode): its text is not what the server sees.
	escaped bool
}

// A lexer splits SQL into tokens following PostgreSQL's scanner (scan.l)
// closely enough for the identity guard: whitespace, -- and nested /* */
// comments, ” strings (standard_conforming_strings on) with their
// newline-separated continuations, E” escape strings, U&” strings, B”/X”/N”
// constants, $tag$ dollar quotes, "quoted identifiers", $n parameters,
// numbers, operators and punctuation.
type lexer struct {
	src string
	pos int
	// unterminated is set when the text ends inside a comment, a string or a
	// quoted identifier.
	unterminated bool
}

// tokens lexes all of src.
func lexAll(src string) ([]token, bool) {
	l := lexer{src: src}
	var out []token
	for {
		t, ok := l.next()
		if !ok {
			return out, !l.unterminated
		}
		out = append(out, t)
	}
}

func isSpace(c byte) bool {
	return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v'
}

func isIdentStart(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c == '_' || c >= 0x80
}

func isIdentCont(c byte) bool {
	return isIdentStart(c) || c >= '0' && c <= '9' || c == '$'
}

func isDigit(c byte) bool { return c >= '0' && c <= '9' }

// isOpChar: the characters of PostgreSQL operators.
func isOpChar(c byte) bool { return strings.IndexByte("+-*/<>=~!@#%^&|`?", c) >= 0 }

func (l *lexer) peek(off int) byte {
	if l.pos+off < len(l.src) {
		return l.src[l.pos+off]
	}
	return 0
}

// skipSpace skips whitespace and comments and reports whether a newline was
// among them.
func (l *lexer) skipSpace() (newline bool) {
	for l.pos < len(l.src) {
		c := l.src[l.pos]
		switch {
		case isSpace(c):
			newline = newline || c == '\n' || c == '\r'
			l.pos++
		case c == '-' && l.peek(1) == '-':
			i := strings.IndexAny(l.src[l.pos:], "\r\n")
			if i < 0 {
				l.pos = len(l.src)
				return newline
			}
			l.pos += i
		case c == '/' && l.peek(1) == '*':
			l.skipBlockComment()
		default:
			return newline
		}
	}
	return newline
}

// skipBlockComment skips a /* */ comment, which nests.
func (l *lexer) skipBlockComment() {
	depth := 0
	for l.pos < len(l.src) {
		switch {
		case l.src[l.pos] == '/' && l.peek(1) == '*':
			depth++
			l.pos += 2
		case l.src[l.pos] == '*' && l.peek(1) == '/':
			depth--
			l.pos += 2
			if depth == 0 {
				return
			}
		default:
			l.pos++
		}
	}
	l.unterminated = true
}

// next returns the next token; false at the end of the text.
func (l *lexer) next() (token, bool) {
	l.skipSpace()
	if l.pos >= len(l.src) {
		return token{}, false
	}
	start := l.pos
	c := l.src[l.pos]
	switch {
	case c == '\'':
		return l.str(start, false), true
	case (c == 'e' || c == 'E') && l.peek(1) == '\'':
		l.pos++
		return l.str(start, true), true
	case (c == 'b' || c == 'B' || c == 'x' || c == 'X' || c == 'n' || c == 'N') && l.peek(1) == '\'':
		l.pos++
		return l.str(start, false), true
	case (c == 'u' || c == 'U') && l.peek(1) == '&' && (l.peek(2) == '\'' || l.peek(2) == '"'):
		l.pos += 2
		var t token
		if l.src[l.pos] == '\'' {
			t = l.str(start, false)
		} else {
			t = l.quoted(start)
		}
		t.escaped = t.escaped || strings.IndexByte(t.text, '\\') >= 0 || l.uescape()
		return t, true
	case c == '"':
		return l.quoted(start), true
	case c == '$' && isDigit(l.peek(1)):
		l.pos++
		for l.pos < len(l.src) && isDigit(l.src[l.pos]) {
			l.pos++
		}
		return token{kind: tokParam, text: l.src[start:l.pos], pos: start}, true
	case c == '$':
		if t, ok := l.dollar(start); ok {
			return t, true
		}
		l.pos++
		return token{kind: tokOp, text: "$", pos: start}, true
	case isIdentStart(c):
		for l.pos < len(l.src) && isIdentCont(l.src[l.pos]) {
			l.pos++
		}
		return token{kind: tokIdent, text: lowerASCII(l.src[start:l.pos]), pos: start}, true
	case isDigit(c) || c == '.' && isDigit(l.peek(1)):
		for l.pos < len(l.src) && (isIdentCont(l.src[l.pos]) || l.src[l.pos] == '.') {
			l.pos++
		}
		return token{kind: tokNumber, text: l.src[start:l.pos], pos: start}, true
	case c == ':' && l.peek(1) == ':':
		l.pos += 2
		return token{kind: tokOp, text: "::", pos: start}, true
	case isOpChar(c):
		for l.pos < len(l.src) && isOpChar(l.src[l.pos]) {
			if rest := l.src[l.pos:]; l.pos > start && (strings.HasPrefix(rest, "--") || strings.HasPrefix(rest, "/*")) {
				break
			}
			l.pos++
		}
		return token{kind: tokOp, text: l.src[start:l.pos], pos: start}, true
	}
	_, size := utf8.DecodeRuneInString(l.src[l.pos:])
	l.pos += size
	return token{kind: tokOp, text: l.src[start:l.pos], pos: start}, true
}

// uescape consumes a UESCAPE 'c' clause after a U& literal and reports whether
// there was one.
func (l *lexer) uescape() bool {
	save := l.pos
	l.skipSpace()
	if l.pos+7 <= len(l.src) && strings.EqualFold(l.src[l.pos:l.pos+7], "uescape") {
		l.pos += 7
		l.skipSpace()
		if l.peek(0) == '\'' {
			l.str(l.pos, false)
			return true
		}
	}
	l.pos = save
	return false
}

// str lexes a string constant at l.pos (the opening quote), with its
// continuations: constants separated only by whitespace that holds a newline
// are one constant (SQL standard, scan.l "quotecontinue").
func (l *lexer) str(start int, escapes bool) token {
	t := token{kind: tokString, pos: start}
	var b strings.Builder
	for {
		l.pos++ // the opening quote
		for {
			if l.pos >= len(l.src) {
				l.unterminated = true
				t.text = b.String()
				return t
			}
			c := l.src[l.pos]
			switch {
			case c == '\'' && l.peek(1) == '\'':
				b.WriteByte('\'')
				l.pos += 2
				continue
			case c == '\'':
				l.pos++
			case c == '\\' && escapes:
				if !l.escape(&b) {
					t.escaped = true
				}
				continue
			default:
				b.WriteByte(c)
				l.pos++
				continue
			}
			break
		}
		save := l.pos
		if nl := l.skipSpace(); !nl || l.peek(0) != '\'' {
			l.pos = save
			t.text = b.String()
			return t
		}
	}
}

// escape decodes a backslash escape of an E” string into b; false when it is
// one the lexer does not interpret.
func (l *lexer) escape(b *strings.Builder) bool {
	l.pos++ // the backslash
	if l.pos >= len(l.src) {
		return true
	}
	c := l.src[l.pos]
	l.pos++
	switch c {
	case 'b':
		b.WriteByte('\b')
	case 'f':
		b.WriteByte('\f')
	case 'n':
		b.WriteByte('\n')
	case 'r':
		b.WriteByte('\r')
	case 't':
		b.WriteByte('\t')
	case 'x':
		n := 0
		for n < 2 && l.pos+n < len(l.src) && isHex(l.src[l.pos+n]) {
			n++
		}
		if n == 0 {
			b.WriteByte('x')
			return true
		}
		v, _ := strconv.ParseUint(l.src[l.pos:l.pos+n], 16, 8)
		b.WriteByte(byte(v))
		l.pos += n
	case '0', '1', '2', '3', '4', '5', '6', '7':
		n := 1
		for n < 3 && l.pos-1+n < len(l.src) && l.src[l.pos-1+n] >= '0' && l.src[l.pos-1+n] <= '7' {
			n++
		}
		v, _ := strconv.ParseUint(l.src[l.pos-1:l.pos-1+n], 8, 16)
		b.WriteByte(byte(v))
		l.pos += n - 1
	case 'u', 'U':
		return false
	default:
		b.WriteByte(c)
	}
	return true
}

func isHex(c byte) bool {
	return isDigit(c) || c >= 'a' && c <= 'f' || c >= 'A' && c <= 'F'
}

// quoted lexes a "quoted identifier" at l.pos.
func (l *lexer) quoted(start int) token {
	t := token{kind: tokQuoted, pos: start}
	var b strings.Builder
	l.pos++
	for l.pos < len(l.src) {
		c := l.src[l.pos]
		if c == '"' {
			if l.peek(1) == '"' {
				b.WriteByte('"')
				l.pos += 2
				continue
			}
			l.pos++
			t.text = b.String()
			return t
		}
		b.WriteByte(c)
		l.pos++
	}
	l.unterminated = true
	t.text = b.String()
	return t
}

// dollar lexes a $tag$ ... $tag$ constant at l.pos, or reports that the $ does
// not open one.
func (l *lexer) dollar(start int) (token, bool) {
	i := l.pos + 1
	for i < len(l.src) && l.src[i] != '$' {
		c := l.src[i]
		if !(isIdentStart(c) || i > l.pos+1 && isDigit(c)) {
			return token{}, false
		}
		i++
	}
	if i >= len(l.src) {
		return token{}, false
	}
	tag := l.src[l.pos : i+1]
	body := i + 1
	end := strings.Index(l.src[body:], tag)
	if end < 0 {
		l.pos = len(l.src)
		l.unterminated = true
		return token{kind: tokString, text: l.src[body:], pos: start}, true
	}
	l.pos = body + end + len(tag)
	return token{kind: tokString, text: l.src[body : body+end], pos: start}, true
}

// lowerASCII folds ASCII letters, as PostgreSQL folds unquoted identifiers in
// multibyte encodings.
func lowerASCII(s string) string {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c >= 'A' && c <= 'Z' {
			b := []byte(s)
			for j := i; j < len(b); j++ {
				if b[j] >= 'A' && b[j] <= 'Z' {
					b[j] += 'a' - 'A'
				}
			}
			return string(b)
		}
	}
	return s
}
