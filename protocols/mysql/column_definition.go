package mysql

import (
	"fmt"

	gm "github.com/go-mysql-org/go-mysql/mysql"

	"github.com/hoophq/hoop/session"
)

// binaryCharset is the "binary" character set: a string column with it holds
// bytes (BINARY, VARBINARY, BLOB).
const binaryCharset = 63

// columnDefinition is Protocol::ColumnDefinition41: one column of a result
// set, of a prepared statement's parameters, or of COM_FIELD_LIST (which adds
// a default value).
type columnDefinition struct {
	Name     string
	Table    string
	Charset  uint16
	Length   uint32
	Type     byte
	Flags    uint16
	Decimals byte
	Default  []byte // COM_FIELD_LIST only
}

func decodeColumnDefinition(p []byte) (columnDefinition, error) {
	d := decoder{b: p}
	var c columnDefinition
	d.lenencBytes() // catalog, always "def"
	d.lenencBytes() // schema
	table, _ := d.lenencBytes()
	d.lenencBytes() // org_table
	name, _ := d.lenencBytes()
	d.lenencBytes() // org_name
	d.lenenc()      // length of the fixed fields, 0x0c
	c.Charset = d.u16()
	c.Length = d.u32()
	c.Type = d.u8()
	c.Flags = d.u16()
	c.Decimals = d.u8()
	d.n(2) // filler
	if d.err != nil {
		return columnDefinition{}, fmt.Errorf("%w: column definition", ErrMalformed)
	}
	if !d.empty() {
		c.Default, _ = d.lenencBytes()
		if d.err != nil {
			return columnDefinition{}, fmt.Errorf("%w: column definition default value", ErrMalformed)
		}
	}
	c.Name, c.Table = string(name), string(table)
	return c, nil
}

func (c *columnDefinition) unsigned() bool { return c.Flags&gm.UNSIGNED_FLAG != 0 }

// column is the recorded form.
func (c *columnDefinition) column() session.Column {
	return session.Column{Name: c.Name, Type: typeName(c.Type, c.unsigned(), c.Charset)}
}

// typeName names a column type as SQL does (the recorded Column.Type; replay
// right-aligns the numeric ones, as the mysql client does).
func typeName(t byte, unsigned bool, charset uint16) string {
	var n string
	switch t {
	case gm.MYSQL_TYPE_DECIMAL, gm.MYSQL_TYPE_NEWDECIMAL:
		n = "decimal"
	case gm.MYSQL_TYPE_TINY:
		n = "tinyint"
	case gm.MYSQL_TYPE_SHORT:
		n = "smallint"
	case gm.MYSQL_TYPE_INT24:
		n = "mediumint"
	case gm.MYSQL_TYPE_LONG:
		n = "int"
	case gm.MYSQL_TYPE_LONGLONG:
		n = "bigint"
	case gm.MYSQL_TYPE_FLOAT:
		n = "float"
	case gm.MYSQL_TYPE_DOUBLE:
		n = "double"
	case gm.MYSQL_TYPE_NULL:
		return "null"
	case gm.MYSQL_TYPE_TIMESTAMP, gm.MYSQL_TYPE_TIMESTAMP2:
		return "timestamp"
	case gm.MYSQL_TYPE_DATE, gm.MYSQL_TYPE_NEWDATE:
		return "date"
	case gm.MYSQL_TYPE_TIME, gm.MYSQL_TYPE_TIME2:
		return "time"
	case gm.MYSQL_TYPE_DATETIME, gm.MYSQL_TYPE_DATETIME2:
		return "datetime"
	case gm.MYSQL_TYPE_YEAR:
		return "year"
	case gm.MYSQL_TYPE_BIT:
		return "bit"
	case gm.MYSQL_TYPE_JSON:
		return "json"
	case gm.MYSQL_TYPE_ENUM:
		return "enum"
	case gm.MYSQL_TYPE_SET:
		return "set"
	case gm.MYSQL_TYPE_GEOMETRY:
		return "geometry"
	case gm.MYSQL_TYPE_VECTOR:
		return "vector"
	case gm.MYSQL_TYPE_TINY_BLOB, gm.MYSQL_TYPE_MEDIUM_BLOB, gm.MYSQL_TYPE_LONG_BLOB, gm.MYSQL_TYPE_BLOB:
		if charset == binaryCharset {
			return "blob"
		}
		return "text"
	case gm.MYSQL_TYPE_VARCHAR, gm.MYSQL_TYPE_VAR_STRING:
		if charset == binaryCharset {
			return "varbinary"
		}
		return "varchar"
	case gm.MYSQL_TYPE_STRING:
		if charset == binaryCharset {
			return "binary"
		}
		return "char"
	default:
		return fmt.Sprintf("type%d", t)
	}
	if unsigned {
		n += " unsigned"
	}
	return n
}
