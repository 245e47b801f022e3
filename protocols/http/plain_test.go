package http

import (
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/hoophq/hoop/config"
)

func TestPlainCredential(t *testing.T) {
	for _, tc := range []struct {
		cred       config.HTTPCredential
		user, pass string
		header     string
		want       string
	}{
		{config.HTTPCredential{Type: "bearer", Token: config.NewSecret("t0k")}, "", "", "Authorization", "Bearer t0k"},
		{config.HTTPCredential{Type: "basic"}, "svc", "pw", "Authorization", "Basic c3ZjOnB3"},
		{config.HTTPCredential{Type: "header", Header: "X-Api-Key", Token: config.NewSecret("k3y")}, "", "", "X-Api-Key", "k3y"},
		{config.HTTPCredential{Type: "none"}, "", "", "Authorization", ""},
	} {
		d := &Plain{cred: tc.cred, user: tc.user, password: tc.pass}
		r := httptest.NewRequest("GET", "/", nil)
		d.setCredential(r)
		if got := r.Header.Get(tc.header); got != tc.want {
			t.Errorf("%s: %s = %q; want %q", tc.cred.Type, tc.header, got, tc.want)
		}
	}
}

func TestPlainReserved(t *testing.T) {
	d := &Plain{assertion: "X-Identity", cred: config.HTTPCredential{Type: "header", Header: "X-Api-Key"}}
	for _, h := range []string{"X-Hoop-User", "X-Hoop-Session", "Impersonate-Group", "X-Identity", "X-Api-Key"} {
		hdr := http.Header{}
		hdr.Set(h, "x")
		if d.Reserved(hdr) == "" {
			t.Errorf("%s is not refused", h)
		}
	}
	if n := d.Reserved(http.Header{"Accept": {"*/*"}}); n != "" {
		t.Errorf("Accept refused as %s", n)
	}
}
