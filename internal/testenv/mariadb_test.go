package testenv

import (
	"testing"

	"github.com/go-mysql-org/go-mysql/client"
)

func TestMariaDB(t *testing.T) {
	m, err := StartMariaDB("")
	if err != nil {
		t.Fatal(err)
	}
	defer m.Stop()
	c, err := client.Connect(m.Addr(), m.User, m.Password, m.Database, func(c *client.Conn) error {
		c.UseSSL(true)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	r, err := c.Execute("SHOW SESSION STATUS LIKE 'Ssl_cipher'")
	if err != nil {
		t.Fatal(err)
	}
	if cipher, _ := r.GetString(0, 1); cipher == "" {
		t.Fatalf("Ssl_cipher is empty; want a TLS connection")
	}
	rows, err := m.Query("SELECT @@performance_schema, @@performance_schema_session_connect_attrs_size")
	if err != nil || len(rows) != 1 || rows[0][0] != "1" {
		t.Fatalf("performance_schema: %v, %v; want it on", rows, err)
	}
	if _, err := client.Connect(m.Addr(), "root", "", ""); err == nil {
		t.Fatal("root logged in over TCP; want it refused")
	}
}
