package config

import (
	"errors"
	"strings"
	"testing"
)

const mysqlBase = `broker:
  data_dir: data
admin:
  tokens:
    - ${env:HOOP_TEST_ADMIN}
connections:
  - name: db
    protocol: mysql
    listen: 127.0.0.1:3307
    upstream:
      address: 10.0.0.5:3306
%s    access:
      groups: [dba]
%s`

func TestMySQLConfig(t *testing.T) {
	t.Setenv("HOOP_TEST_ADMIN", "x")
	cfg, err := Parse("broker.yaml", []byte(fmtMySQL("      user: app\n", "    mysql:\n      local_infile: true\n")))
	if err != nil {
		t.Fatal(err)
	}
	m := cfg.Connections[0].MySQL
	if !m.LocalInfile || m.ServerVersion != DefaultMySQLServerVersion {
		t.Fatalf("mysql settings %+v; want local_infile and the default server_version", m)
	}

	for _, tc := range []struct{ user, extra, want string }{
		{"", "", "connections[0].upstream.user: required"},
		{"      user: app\n", "    mysql:\n      server_version: \"8.0\\n\"\n", "connections[0].mysql.server_version: printable ASCII only"},
		{"      user: app\n", "    mysql:\n      local_file: true\n", "unknown field"},
	} {
		_, err := Parse("broker.yaml", []byte(fmtMySQL(tc.user, tc.extra)))
		var es Errors
		if !errors.As(err, &es) || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%q %q: %v; want %q", tc.user, tc.extra, err, tc.want)
		}
	}
}

func fmtMySQL(user, extra string) string {
	s := strings.Replace(mysqlBase, "%s", user, 1)
	return strings.Replace(s, "%s", extra, 1)
}
