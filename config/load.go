package config

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/goccy/go-yaml"
	"github.com/goccy/go-yaml/ast"
	"github.com/goccy/go-yaml/parser"
)

// Error is one problem in a configuration file. Its message names the file, the
// line and the field: "broker.yaml:12: connections[0].upstream.address: required".
type Error struct {
	File  string
	Line  int    // 0 when unknown (the field is missing and its parent has no line)
	Field string // YAML path without the leading "$.", e.g. connections[0].listen
	Msg   string
}

func (e *Error) Error() string {
	var b strings.Builder
	b.WriteString(e.File)
	if e.Line > 0 {
		fmt.Fprintf(&b, ":%d", e.Line)
	}
	if e.Field != "" {
		b.WriteString(": ")
		b.WriteString(e.Field)
	}
	b.WriteString(": ")
	b.WriteString(e.Msg)
	return b.String()
}

// Errors is every problem found in one file, in file order.
type Errors []*Error

func (es Errors) Error() string {
	lines := make([]string, len(es))
	for i, e := range es {
		lines[i] = e.Error()
	}
	return strings.Join(lines, "\n")
}

// Load reads, decodes, resolves and validates the configuration file at path.
// The returned error is an Errors value (or *os.PathError when the file can't be
// read).
func Load(path string) (*Config, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	return Parse(path, data)
}

// LoadClient loads the configuration for a client of the broker (hoopctl
// sessions, replay, token issue, kubeconfig): the file is decoded and
// validated as by Load, but only the admin tokens are resolved. Other secret
// references and the files other fields name are not read, so a user who may
// talk to the admin API needn't be able to read the upstream credentials.
func LoadClient(path string) (*Config, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	return parse(path, data, true)
}

// Parse is Load for a file already read; name is used in error messages.
func Parse(name string, data []byte) (*Config, error) { return parse(name, data, false) }

func parse(name string, data []byte, client bool) (*Config, error) {
	file, err := parser.ParseBytes(data, 0)
	if err != nil {
		return nil, Errors{yamlError(name, err)}
	}
	var cfg Config
	dec := yaml.NewDecoder(bytes.NewReader(data), yaml.DisallowUnknownField())
	if err := dec.Decode(&cfg); err != nil && !errors.Is(err, io.EOF) {
		return nil, Errors{yamlError(name, err)}
	}
	cfg.File = name
	v := &validator{cfg: &cfg, file: file, name: name, client: client}
	v.run()
	if len(v.errs) > 0 {
		return nil, v.errs
	}
	return &cfg, nil
}

// yamlError turns a decoder error into an *Error with the line and field.
func yamlError(name string, err error) *Error {
	var e *Error
	if errors.As(err, &e) {
		e.File = name
		return e
	}
	var ye yaml.Error
	if errors.As(err, &ye) {
		out := &Error{File: name, Msg: ye.GetMessage()}
		if tk := ye.GetToken(); tk != nil && tk.Position != nil {
			out.Line = tk.Position.Line
		}
		return out
	}
	return &Error{File: name, Msg: err.Error()}
}

func nodeLine(n ast.Node) int {
	if n == nil || n.GetToken() == nil || n.GetToken().Position == nil {
		return 0
	}
	return n.GetToken().Position.Line
}

// fieldPath turns a YAML path ($.a.b[0].c) into the field name users read (a.b[0].c).
func fieldPath(p string) string {
	return strings.TrimPrefix(strings.TrimPrefix(p, "$"), ".")
}
