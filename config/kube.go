package config

func init() { protocols["kube"] = (*validator).kube }

// Kube configures a kube connection: a kubectl-compatible endpoint in front of
// a Kubernetes API server (upstream.address). The broker authenticates to the
// API server with the connection's own credential and impersonates the caller
// (Impersonate-User, Impersonate-Group, Impersonate-Extra-*), so the cluster's
// RBAC and audit log apply to the real user. The API server's CA is pinned:
// upstream.ca is required, and upstream.tls is verify-full unless it says
// verify-ca.
type Kube struct {
	// Token is the bearer token (e.g. of a service account) the broker uses; it
	// needs RBAC to impersonate users, groups and userextras. Use a secret
	// reference. Either Token or ClientCert and ClientKey.
	Token Secret `yaml:"token"`
	// ClientCert and ClientKey are PEM files of a client certificate the broker
	// uses instead of a token.
	ClientCert string `yaml:"client_cert"`
	ClientKey  string `yaml:"client_key"`
	// MaxBody is how much of each request and response body is recorded
	// (Secret values are always redacted). Default 64KiB.
	MaxBody ByteSize `yaml:"max_body"`
}

// kube validates the settings of a kube connection.
func (v *validator) kube(conn *Connection, path string) {
	k := &conn.Kube
	p := path + ".kube"
	v.secret(&k.Token, p+".token", false)
	hasCert := k.ClientCert != "" || k.ClientKey != ""
	switch {
	case k.Token.IsZero() && !hasCert:
		v.errorf(p, "a credential is required: token, or client_cert and client_key")
	case !k.Token.IsZero() && hasCert:
		v.errorf(p, "token and client_cert are exclusive: give one credential")
	case hasCert && (k.ClientCert == "" || k.ClientKey == ""):
		v.errorf(p, "client_cert and client_key go together")
	}
	k.ClientCert = v.file_(k.ClientCert, p+".client_cert")
	k.ClientKey = v.file_(k.ClientKey, p+".client_key")
	up := &conn.Upstream
	switch up.TLS {
	case "prefer": // the default: the API server is always reached over TLS
		up.TLS = "verify-full"
	case "verify-ca", "verify-full":
	default:
		v.errorf(path+".upstream.tls", "must be verify-full or verify-ca for kube (the API server's CA is pinned), got %q", up.TLS)
	}
	if up.CA == "" {
		v.errorf(path+".upstream.ca", "required for kube: the API server's CA certificate (PEM)")
	}
	if k.MaxBody == 0 {
		k.MaxBody = DefaultMaxBody
	}
}
