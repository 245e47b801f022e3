package config

import (
	"errors"
	"strings"
	"testing"
)

const kubeBase = `broker:
  data_dir: data
admin:
  tokens: ["${env:HOOP_TEST_ADMIN}"]
connections:
  - name: k8s
    protocol: kube
    listen: 127.0.0.1:16443
    upstream:
      address: 127.0.0.1:6443
      ca: ca.crt
    kube:
      token: ${file:k8s.token}
    access:
      groups: [dev]
`

func TestKubeValid(t *testing.T) {
	dir := t.TempDir()
	t.Setenv("HOOP_TEST_ADMIN", "x")
	write(t, dir, "k8s.token", "sa-token\n")
	write(t, dir, "ca.crt", "pem")
	cfg, err := Load(write(t, dir, "broker.yaml", kubeBase))
	if err != nil {
		t.Fatal(err)
	}
	c := cfg.Connections[0]
	if c.Kube.Token.Value() != "sa-token" || c.Upstream.TLS != "verify-full" || c.Kube.MaxBody != DefaultMaxBody {
		t.Errorf("kube settings = %+v, upstream tls %q", c.Kube, c.Upstream.TLS)
	}
	if strings.Contains(sprint(cfg), "sa-token") {
		t.Error("formatted config contains the token")
	}
}

func TestKubeErrors(t *testing.T) {
	t.Setenv("HOOP_TEST_ADMIN", "x")
	for _, tc := range []struct{ name, old, new, want string }{
		{"no credential", "      token: ${file:k8s.token}\n", "", "connections[0].kube: a credential is required"},
		{"both credentials", "      token: ${file:k8s.token}\n", "      token: ${file:k8s.token}\n      client_cert: ca.crt\n      client_key: ca.crt\n", "token and client_cert are exclusive"},
		{"half a certificate", "      token: ${file:k8s.token}\n", "      client_cert: ca.crt\n", "client_cert and client_key go together"},
		{"no ca", "      ca: ca.crt\n", "", "connections[0].upstream.ca: required for kube"},
		{"unpinned", "      ca: ca.crt\n", "      ca: ca.crt\n      tls: require\n", "connections[0].upstream.tls: must be verify-full or verify-ca"},
		{"missing cert file", "      token: ${file:k8s.token}\n", "      client_cert: nope.crt\n      client_key: ca.crt\n", "connections[0].kube.client_cert: cannot read"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			write(t, dir, "k8s.token", "s")
			write(t, dir, "ca.crt", "pem")
			_, err := Load(write(t, dir, "broker.yaml", strings.Replace(kubeBase, tc.old, tc.new, 1)))
			var es Errors
			if !errors.As(err, &es) || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("got %v; want an error containing %q", err, tc.want)
			}
		})
	}
}
