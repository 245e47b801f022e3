package testenv

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

// Groups bound to RBAC roles in the control plane: KubeAdmins may do
// anything (cluster-admin), KubeViewers may only read (get, list, watch).
const (
	KubeAdmins  = "kube-admins"
	KubeViewers = "kube-viewers"
)

// bootstrap creates the RBAC the tests rely on and registers the node.
func (k *Kube) bootstrap(stubPort int) error {
	objs := []struct{ path, body string }{
		{"/apis/rbac.authorization.k8s.io/v1/clusterroles", `{"metadata":{"name":"hoop-impersonator"},"rules":[
			{"apiGroups":[""],"resources":["users","groups","serviceaccounts"],"verbs":["impersonate"]},
			{"apiGroups":["authentication.k8s.io"],"resources":["userextras/hoop.dev/session","userextras/hoop.dev/actors","uids"],"verbs":["impersonate"]}]}`},
		{"/apis/rbac.authorization.k8s.io/v1/clusterrolebindings", `{"metadata":{"name":"hoop-impersonator"},
			"roleRef":{"apiGroup":"rbac.authorization.k8s.io","kind":"ClusterRole","name":"hoop-impersonator"},
			"subjects":[{"apiGroup":"rbac.authorization.k8s.io","kind":"User","name":"hoop-broker"}]}`},
		{"/apis/rbac.authorization.k8s.io/v1/clusterrolebindings", `{"metadata":{"name":"hoop-kube-admins"},
			"roleRef":{"apiGroup":"rbac.authorization.k8s.io","kind":"ClusterRole","name":"cluster-admin"},
			"subjects":[{"apiGroup":"rbac.authorization.k8s.io","kind":"Group","name":"` + KubeAdmins + `"}]}`},
		// The built-in view role is aggregated by the controller manager,
		// which does not run here: a reader role of our own.
		{"/apis/rbac.authorization.k8s.io/v1/clusterroles", `{"metadata":{"name":"hoop-viewer"},"rules":[
			{"apiGroups":["*"],"resources":["*"],"verbs":["get","list","watch"]}]}`},
		{"/apis/rbac.authorization.k8s.io/v1/clusterrolebindings", `{"metadata":{"name":"hoop-kube-viewers"},
			"roleRef":{"apiGroup":"rbac.authorization.k8s.io","kind":"ClusterRole","name":"hoop-viewer"},
			"subjects":[{"apiGroup":"rbac.authorization.k8s.io","kind":"Group","name":"` + KubeViewers + `"}]}`},
		{"/api/v1/nodes", `{"metadata":{"name":"` + k.Node + `"}}`},
	}
	for _, o := range objs {
		if err := k.must("POST", o.path, o.body); err != nil {
			return err
		}
	}
	status := fmt.Sprintf(`{"status":{"addresses":[{"type":"InternalIP","address":"127.0.0.1"}],
		"daemonEndpoints":{"kubeletEndpoint":{"Port":%d}},
		"conditions":[{"type":"Ready","status":"True","reason":"KubeletStub","message":"kubelet stub"}]}}`, stubPort)
	return k.must("PATCH", "/api/v1/nodes/"+k.Node+"/status", status)
}

// CreatePod creates a pod bound to the node with one container, "main", and
// marks it running, so that exec, attach, logs and port-forward reach the
// kubelet stub.
func (k *Kube) CreatePod(namespace, name string) error {
	pod := fmt.Sprintf(`{"metadata":{"name":%q},"spec":{"nodeName":%q,"containers":[{"name":"main","image":"stub","stdin":true,"tty":true}]}}`, name, k.Node)
	if err := k.must("POST", "/api/v1/namespaces/"+namespace+"/pods", pod); err != nil {
		return err
	}
	status := `{"status":{"phase":"Running","podIP":"127.0.0.1","conditions":[{"type":"Ready","status":"True"}],
		"containerStatuses":[{"name":"main","ready":true,"restartCount":0,"image":"stub","imageID":"stub","containerID":"stub://main",
		"state":{"running":{"startedAt":"2026-01-01T00:00:00Z"}}}]}}`
	return k.must("PATCH", "/api/v1/namespaces/"+namespace+"/pods/"+name+"/status", status)
}

// AppendLog adds a line to a pod's log; kubectl logs -f shows it as it comes.
func (k *Kube) AppendLog(pod, line string) error {
	c := &http.Client{Transport: &http.Transport{TLSClientConfig: insecureLoopback()}}
	resp, err := c.PostForm("https://"+k.stub+"/control/log?pod="+url.QueryEscape(pod), url.Values{"line": {line}})
	if err != nil {
		return err
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("kubelet stub: %s", resp.Status)
	}
	return nil
}

// Get returns an object as admin, decoded.
func (k *Kube) Get(path string) (map[string]any, error) {
	st, b, err := k.Do("GET", path, "")
	if err != nil {
		return nil, err
	}
	if st != http.StatusOK {
		return nil, fmt.Errorf("GET %s: %d %s", path, st, b)
	}
	var m map[string]any
	return m, json.Unmarshal(b, &m)
}

// Kubeconfig is an admin kubeconfig for stock kubectl, against the API server
// directly.
func (k *Kube) Kubeconfig() string {
	return fmt.Sprintf(`apiVersion: v1
kind: Config
clusters:
- name: direct
  cluster:
    server: https://%s
    certificate-authority: %s
users:
- name: admin
  user:
    token: %s
contexts:
- name: direct
  context: {cluster: direct, user: admin}
current-context: direct
`, k.Address, k.CAFile, k.AdminToken)
}

// EchoServer is a loopback TCP server that answers each line with "echo: "
// and the line: the "port" of the pod that port-forward reaches.
func EchoServer() (port int, stop func(), err error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, nil, err
	}
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				buf := make([]byte, 4096)
				for {
					n, err := c.Read(buf)
					if n > 0 {
						c.Write(append([]byte("echo: "), buf[:n]...))
					}
					if err != nil {
						return
					}
				}
			}()
		}
	}()
	_, p, _ := net.SplitHostPort(ln.Addr().String())
	port, _ = strconv.Atoi(p)
	return port, func() { ln.Close() }, nil
}

func copyLimited(w *strings.Builder, r io.Reader, n int64) (int64, error) {
	return io.Copy(w, io.LimitReader(r, n))
}

// writeSAKey writes the service-account token signing key (SEC1 EC) and its
// public key (PKIX), the forms kube-apiserver reads.
func writeSAKey(dir string) error {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return err
	}
	der, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		return err
	}
	pub, err := x509.MarshalPKIXPublicKey(&key.PublicKey)
	if err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(dir, "sa.key"), pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: der}), 0o600); err != nil {
		return err
	}
	return os.WriteFile(filepath.Join(dir, "sa.pub"), pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: pub}), 0o644)
}
