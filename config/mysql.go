package config

func init() { protocols["mysql"] = (*validator).mysql }

// MySQL holds the settings of a mysql connection (MySQL and MariaDB). Every
// user of the connection logs in upstream as upstream.user with
// upstream.password; the user name a client gives the broker is recorded and
// chooses nothing.
type MySQL struct {
	// LocalInfile allows LOAD DATA LOCAL INFILE: the client's file is then sent
	// upstream through the broker, and its size and first bytes (up to the
	// recording caps) are recorded. Off by default: the statement is refused
	// with a clear error.
	LocalInfile bool `yaml:"local_infile"`
	// ServerVersion is the version the broker announces to clients before it
	// connects upstream (clients show it and some switch features on it).
	// Default "8.0.0-hoop"; set it to the upstream's version, such as
	// "5.5.5-10.11.6-MariaDB", for clients that care.
	ServerVersion string `yaml:"server_version"`
}

// DefaultMySQLServerVersion is the version announced to MySQL clients.
const DefaultMySQLServerVersion = "8.0.0-hoop"

// mysql validates the settings a MySQL connection needs.
func (v *validator) mysql(conn *Connection, p string) {
	if conn.Upstream.User == "" {
		v.errorf(p+".upstream.user", "required: the upstream login every user of %q gets", conn.Name)
	}
	if conn.MySQL.ServerVersion == "" {
		conn.MySQL.ServerVersion = DefaultMySQLServerVersion
	}
	for _, r := range conn.MySQL.ServerVersion {
		if r == 0 || r > 0x7e || r < 0x20 {
			v.errorf(p+".mysql.server_version", "printable ASCII only, got %q", conn.MySQL.ServerVersion)
			break
		}
	}
}
