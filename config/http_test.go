package config

import (
	"errors"
	"strings"
	"testing"
)

const httpBase = `broker:
  data_dir: data
admin:
  tokens: ["${env:HOOP_TEST_ADMIN}"]
connections:
  - name: svc
    protocol: http
    listen: 127.0.0.1:18080
    upstream:
      address: 127.0.0.1:8080
      tls: disable
    http:
      credential:
        type: bearer
        token: ${file:svc.token}
    access:
      groups: [dev]
`

func TestHTTPValid(t *testing.T) {
	dir := t.TempDir()
	t.Setenv("HOOP_TEST_ADMIN", "x")
	write(t, dir, "svc.token", "svc-secret\n")
	cfg, err := Load(write(t, dir, "broker.yaml", httpBase))
	if err != nil {
		t.Fatal(err)
	}
	h := cfg.Connections[0].HTTP
	if h.Credential.Token.Value() != "svc-secret" || h.AssertionHeader != DefaultAssertionHeader || h.AssertionTTL.D() != DefaultAssertionTTL || h.MaxBody != DefaultMaxBody {
		t.Errorf("http settings = %+v", h)
	}
	if strings.Contains(sprint(cfg), "svc-secret") {
		t.Error("formatted config contains the credential")
	}
}

func TestHTTPErrors(t *testing.T) {
	t.Setenv("HOOP_TEST_ADMIN", "x")
	for _, tc := range []struct{ name, old, new, want string }{
		{"bad type", "type: bearer", "type: magic", "connections[0].http.credential.type: must be none, bearer, basic or header"},
		{"no token", "        token: ${file:svc.token}\n", "", "connections[0].http.credential.token: required"},
		{"inline token", "token: ${file:svc.token}", "token: hunter2", "connections[0].http.credential.token: secrets must be references"},
		{"basic without user", "type: bearer", "type: basic", "connections[0].upstream.user: required with credential type basic"},
		{"header without name", "type: bearer", "type: header", "connections[0].http.credential.header: want a header name"},
		{"reserved header", "type: bearer", "type: header\n        header: X-Hoop-User", "X-Hoop-User is set by the broker"},
		{"bad assertion header", "    access:", "      assertion_header: \"bad header\"\n    access:", "connections[0].http.assertion_header: want a header name"},
		{"ttl", "    access:", "      assertion_ttl: 2h\n    access:", "connections[0].http.assertion_ttl: must be between 1s and 1h"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			write(t, dir, "svc.token", "s")
			_, err := Load(write(t, dir, "broker.yaml", strings.Replace(httpBase, tc.old, tc.new, 1)))
			var es Errors
			if !errors.As(err, &es) || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("got %v; want an error containing %q", err, tc.want)
			}
		})
	}
}
