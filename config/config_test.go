package config

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

const base = `broker:
  data_dir: data
admin:
  tokens:
    - ${env:HOOP_TEST_ADMIN}
connections:
  - name: pg
    protocol: postgres
    listen: 127.0.0.1:15432
    upstream:
      address: 127.0.0.1:5432
      user: app
      password: ${file:pw}
      database: app
    access:
      groups: [dba]
`

func write(t *testing.T, dir, name, body string) string {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, []byte(body), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestLoadValid(t *testing.T) {
	dir := t.TempDir()
	t.Setenv("HOOP_TEST_ADMIN", "admin-secret")
	write(t, dir, "pw", "upstream-secret\n")
	cfg, err := Load(write(t, dir, "broker.yaml", base))
	if err != nil {
		t.Fatal(err)
	}
	c := cfg.Connections[0]
	if got := c.Upstream.Password.Value(); got != "upstream-secret" {
		t.Errorf("password = %q; want the file's contents without the newline", got)
	}
	if got := cfg.Admin.Tokens[0].Value(); got != "admin-secret" {
		t.Errorf("admin token = %q", got)
	}
	if cfg.Broker.DataDir != filepath.Join(dir, "data") {
		t.Errorf("data_dir = %q; want it relative to the file", cfg.Broker.DataDir)
	}
	if c.TLS.Mode != "on" || c.Upstream.TLS != "prefer" || c.Recording.MaxRows != 1000 || c.Recording.MaxBytes != 1<<20 {
		t.Errorf("defaults not applied: %+v", c)
	}
	if cfg.Broker.Durability != DurabilityWrite {
		t.Errorf("durability = %q; want write", cfg.Broker.Durability)
	}
	if c.Line != 7 {
		t.Errorf("connection line = %d; want 7", c.Line)
	}
	// Formatting the config never prints a secret.
	for _, s := range []string{"upstream-secret", "admin-secret"} {
		if out := strings.Join([]string{sprint(cfg), sprint(*c)}, ""); strings.Contains(out, s) {
			t.Errorf("formatted config contains %q", s)
		}
	}
}

func TestLoadErrors(t *testing.T) {
	t.Setenv("HOOP_TEST_ADMIN", "x")
	for _, tc := range []struct {
		name, edit, want string
	}{
		{"unknown key", "  data_dir: data\n  colour: blue", "broker.yaml:3: unknown field \"colour\""},
		{"inline secret", "      password: ${file:pw}|      password: hunter2", "broker.yaml:13: connections[0].upstream.password: secrets must be references"},
		{"unset env", "${env:HOOP_TEST_ADMIN}|${env:HOOP_NOT_SET_EVER}", "broker.yaml:5: admin.tokens[0]: environment variable HOOP_NOT_SET_EVER is not set"},
		{"bad protocol", "protocol: postgres|protocol: postgress", "broker.yaml:8: connections[0].protocol: must be one of"},
		{"bad listen", "listen: 127.0.0.1:15432|listen: nowhere", "broker.yaml:9: connections[0].listen: want host:port"},
		{"missing user", "      user: app\n|", "broker.yaml:10: connections[0].upstream.user: required"},
		{"bad size", "      groups: [dba]|      groups: [dba]\n    recording:\n      max_bytes: lots", "broker.yaml:18: connections[0].recording.max_bytes: invalid size \"lots\""},
		{"bad duration", "  data_dir: data|  data_dir: data\n  fsync_interval: soon", "broker.yaml:3: broker.fsync_interval: invalid duration \"soon\""},
		{"no groups", "      groups: [dba]|      groups: []", "broker.yaml:16: connections[0].access.groups: at least one group"},
		{"durability", "  data_dir: data|  data_dir: data\n  durability: maybe", "broker.yaml:3: broker.durability: must be"},
		{"missing file secret", "${file:pw}|${file:nope}", "broker.yaml:13: connections[0].upstream.password: cannot read secret file nope"},
		{"syntax", "access:|access: [", "broker.yaml:"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			write(t, dir, "pw", "s")
			body := base
			if old, new, ok := strings.Cut(tc.edit, "|"); ok {
				body = strings.Replace(body, old, new, 1)
			} else {
				body = strings.Replace(body, "  data_dir: data", tc.edit, 1)
			}
			_, err := Load(write(t, dir, "broker.yaml", body))
			var es Errors
			if !errors.As(err, &es) {
				t.Fatalf("got %v; want config.Errors", err)
			}
			got := strings.TrimPrefix(err.Error(), dir+"/")
			if !strings.Contains(got, tc.want) {
				t.Fatalf("got %q; want it to contain %q", got, tc.want)
			}
		})
	}
}

func TestByteSize(t *testing.T) {
	for in, want := range map[string]int64{"1024": 1024, "1KiB": 1024, "2MiB": 2 << 20, "1GB": 1e9, "10 B": 10} {
		var s ByteSize
		if err := s.set(in); err != nil || int64(s) != want {
			t.Errorf("%q: got %d, %v; want %d", in, s, err, want)
		}
	}
	for _, in := range []string{"", "-1", "1XB", "99999999999GiB"} {
		var s ByteSize
		if err := s.set(in); err == nil {
			t.Errorf("%q: got %d; want an error", in, s)
		}
	}
}

// A client of the broker (hoopctl) needs the admin tokens, not the upstream
// secrets: LoadClient doesn't read them.
func TestLoadClient(t *testing.T) {
	dir := t.TempDir()
	t.Setenv("HOOP_TEST_ADMIN", "admin-secret")
	path := write(t, dir, "broker.yaml", strings.Replace(base, "${file:pw}", "${env:HOOP_UNREADABLE_UPSTREAM}", 1))
	if _, err := Load(path); err == nil || !strings.Contains(err.Error(), "HOOP_UNREADABLE_UPSTREAM is not set") {
		t.Fatalf("Load: got %v; want the unset upstream secret reported", err)
	}
	cfg, err := LoadClient(path)
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Admin.Tokens[0].Value() != "admin-secret" || cfg.Connections[0].Upstream.Password.Value() != "" {
		t.Fatalf("LoadClient resolved admin %q, upstream %q; want only the admin token",
			cfg.Admin.Tokens[0].Value(), cfg.Connections[0].Upstream.Password.Value())
	}
	t.Setenv("HOOP_TEST_ADMIN", "")
	if _, err := LoadClient(path); err == nil {
		t.Fatal("LoadClient without the admin token: got no error")
	}
}
