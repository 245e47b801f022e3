package replay

import (
	"bytes"
	"strings"
	"unicode/utf8"

	"github.com/hoophq/hoop/session"
)

// numericTypes are right-aligned, as psql aligns them.
var numericTypes = map[string]bool{
	"int2": true, "int4": true, "int8": true, "smallint": true, "integer": true, "bigint": true,
	"float4": true, "float8": true, "real": true, "double precision": true, "numeric": true, "decimal": true,
	"oid": true, "money": true,
}

// writeTable writes rows as psql's aligned format: centred headers, a
// dashed rule, "|" between columns, numbers right-aligned, NULL empty.
// Newlines and tabs inside a value are shown escaped so every row stays one
// line.
func writeTable(b *bytes.Buffer, cols []session.Column, rows [][]session.Value) {
	width := make([]int, len(cols))
	cells := make([][]string, len(rows))
	for i, c := range cols {
		width[i] = utf8.RuneCountInString(c.Name)
	}
	for r, row := range rows {
		cells[r] = make([]string, len(cols))
		for i := range cols {
			if i >= len(row) || row[i] == nil {
				continue
			}
			s := cellText(*row[i])
			cells[r][i] = s
			width[i] = max(width[i], utf8.RuneCountInString(s))
		}
	}
	var line strings.Builder
	emit := func() {
		b.WriteString(strings.TrimRight(line.String(), " "))
		b.WriteByte('\n')
		line.Reset()
	}
	for i, c := range cols {
		if i > 0 {
			line.WriteString("|")
		}
		n := utf8.RuneCountInString(c.Name)
		left := (width[i] - n) / 2
		line.WriteString(" " + strings.Repeat(" ", left) + c.Name + strings.Repeat(" ", width[i]-n-left) + " ")
	}
	emit()
	for i := range cols {
		if i > 0 {
			line.WriteString("+")
		}
		line.WriteString(strings.Repeat("-", width[i]+2))
	}
	emit()
	for _, row := range cells {
		for i, s := range row {
			if i > 0 {
				line.WriteString("|")
			}
			pad := strings.Repeat(" ", width[i]-utf8.RuneCountInString(s))
			if numericTypes[cols[i].Type] {
				line.WriteString(" " + pad + s + " ")
			} else {
				line.WriteString(" " + s + pad + " ")
			}
		}
		emit()
	}
}

var cellEscaper = strings.NewReplacer("\n", `\n`, "\r", `\r`, "\t", `\t`)

func cellText(s string) string {
	if strings.ContainsAny(s, "\n\r\t") {
		return cellEscaper.Replace(s)
	}
	return s
}
