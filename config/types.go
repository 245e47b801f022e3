package config

import (
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/goccy/go-yaml/ast"
)

// scalar returns the text of a YAML scalar node.
func scalar(node ast.Node) (string, error) {
	switch n := node.(type) {
	case *ast.StringNode:
		return n.Value, nil
	case *ast.IntegerNode, *ast.FloatNode, *ast.BoolNode, *ast.LiteralNode:
		return n.GetToken().Value, nil
	case *ast.NullNode:
		return "", nil
	}
	return "", fmt.Errorf("want a single value, got %s", node.Type())
}

// nodeError ties a value error to the node, so Load can name the line and field.
func nodeError(node ast.Node, err error) error {
	return &Error{Line: nodeLine(node), Field: fieldPath(node.GetPath()), Msg: err.Error()}
}

func unmarshalNode(node ast.Node, set func(string) error) error {
	s, err := scalar(node)
	if err == nil {
		err = set(s)
	}
	if err != nil {
		return nodeError(node, err)
	}
	return nil
}

// Secret is a value that must not appear in logs or recordings. In the file it is
// written as a reference, ${env:NAME} or ${file:PATH}, resolved when the file is
// loaded. Its String and GoString methods redact it, so formatting a config
// struct never prints it.
type Secret struct {
	ref   string // as written in the file
	value string
}

// NewSecret wraps a resolved secret value (for programmatic configs and tests).
func NewSecret(value string) Secret { return Secret{ref: "(inline)", value: value} }

// Value is the resolved secret.
func (s Secret) Value() string { return s.value }

// Ref is the reference as written in the file.
func (s Secret) Ref() string { return s.ref }

// IsZero reports whether no secret was configured.
func (s Secret) IsZero() bool { return s.ref == "" && s.value == "" }

func (s Secret) String() string   { return "[redacted]" }
func (s Secret) GoString() string { return "config.Secret([redacted])" }

// MarshalText keeps the reference, never the value.
func (s Secret) MarshalText() ([]byte, error) { return []byte(s.ref), nil }

// UnmarshalYAML keeps the reference; Load resolves it so errors carry the line.
func (s *Secret) UnmarshalYAML(node ast.Node) error {
	return unmarshalNode(node, func(v string) error {
		s.ref = v
		return nil
	})
}

// Duration is a time.Duration written as a Go duration string ("100ms", "1h").
type Duration time.Duration

// D returns the time.Duration.
func (d Duration) D() time.Duration { return time.Duration(d) }

func (d Duration) MarshalText() ([]byte, error) { return []byte(time.Duration(d).String()), nil }

func (d *Duration) UnmarshalYAML(node ast.Node) error {
	return unmarshalNode(node, d.set)
}

func (d *Duration) set(s string) error {
	v, err := time.ParseDuration(s)
	if err != nil {
		return fmt.Errorf("invalid duration %q (want e.g. 100ms, 10s, 1h)", s)
	}
	if v < 0 {
		return fmt.Errorf("invalid duration %q: negative", s)
	}
	*d = Duration(v)
	return nil
}

// ByteSize is a size in bytes, written as a number or with a unit: 512KiB, 1MiB, 1GiB, 10MB.
type ByteSize int64

var sizeUnits = []struct {
	suffix string
	mult   int64
}{
	{"KiB", 1 << 10}, {"MiB", 1 << 20}, {"GiB", 1 << 30},
	{"KB", 1000}, {"MB", 1000 * 1000}, {"GB", 1000 * 1000 * 1000},
	{"B", 1},
}

func (s ByteSize) MarshalText() ([]byte, error) { return []byte(strconv.FormatInt(int64(s), 10)), nil }

func (s *ByteSize) UnmarshalYAML(node ast.Node) error {
	return unmarshalNode(node, s.set)
}

func (s *ByteSize) set(b string) error {
	str := strings.TrimSpace(b)
	mult := int64(1)
	for _, u := range sizeUnits {
		if strings.HasSuffix(str, u.suffix) {
			mult = u.mult
			str = strings.TrimSpace(strings.TrimSuffix(str, u.suffix))
			break
		}
	}
	n, err := strconv.ParseInt(str, 10, 64)
	if err != nil || n < 0 || n > (1<<62)/mult {
		return fmt.Errorf("invalid size %q (want e.g. 1048576, 512KiB, 1MiB)", b)
	}
	*s = ByteSize(n * mult)
	return nil
}
