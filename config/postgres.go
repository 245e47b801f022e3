package config

func init() { protocols["postgres"] = (*validator).postgres }

// postgres validates the settings a Postgres connection needs.
func (v *validator) postgres(conn *Connection, path string) {
	if conn.Upstream.User == "" {
		v.errorf(path+".upstream.user", "required")
	}
}
