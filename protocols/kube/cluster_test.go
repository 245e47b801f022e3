package kube_test

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/hoophq/hoop/internal/brokertest"
	"github.com/hoophq/hoop/internal/cli"
	"github.com/hoophq/hoop/internal/testenv"
)

// The control plane is started once, on first use, for the package's tests.
var (
	clusterOnce sync.Once
	cluster     *testenv.Kube
	clusterErr  error
)

func TestMain(m *testing.M) {
	// The kubeconfig that hoopctl kubeconfig writes runs this binary as its
	// exec credential plugin: then it is hoopctl.
	if os.Getenv("HOOP_TEST_AS_HOOPCTL") == "1" {
		os.Exit(cli.Run(os.Args[1:], os.Stdout, os.Stderr))
	}
	code := m.Run()
	if cluster != nil {
		cluster.Stop()
	}
	os.Exit(code)
}

func kubeCluster(t *testing.T) *testenv.Kube {
	t.Helper()
	if testing.Short() {
		t.Skip("starts etcd and kube-apiserver")
	}
	clusterOnce.Do(func() { cluster, clusterErr = testenv.StartKube("") })
	if clusterErr != nil {
		t.Fatal(clusterErr)
	}
	return cluster
}

// kubeBroker starts a broker with one kube connection, "k8s", in front of
// the cluster, using the cluster's impersonating broker token.
func kubeBroker(t *testing.T, k *testenv.Kube) *brokertest.Broker {
	t.Helper()
	dir := t.TempDir()
	brokertest.WriteFile(t, filepath.Join(dir, "k8s.token"), k.BrokerToken+"\n")
	return brokertest.Start(t, dir, kubeYAML(k.Address, k.CAFile, "", testenv.KubeAdmins, testenv.KubeViewers))
}

// kubeYAML is a broker with one kube connection, "k8s", in front of the API
// server at address whose CA is in the file ca, using the service account
// token in k8s.token beside the config; serverName, if set, is the name to
// verify the API server's certificate against.
func kubeYAML(address, ca, serverName string, groups ...string) string {
	if serverName != "" {
		serverName = "\n      server_name: " + serverName
	}
	return brokertest.YAML(fmt.Sprintf(`  - name: k8s
    protocol: kube
    listen: 127.0.0.1:0
    upstream:
      address: %s
      ca: %s%s
    kube:
      token: ${file:k8s.token}
    access:
      groups: [%s]
`, address, ca, serverName, strings.Join(groups, ", ")))
}

// user is a kubeconfig for one caller through the broker.
type user struct {
	t       testing.TB
	kubectl string
	config  string
	home    string
	env     []string
}

func newUser(t *testing.T, b *brokertest.Broker, k *testenv.Kube, name string, groups ...string) *user {
	t.Helper()
	home := t.TempDir()
	cfg := filepath.Join(home, "kubeconfig")
	body := fmt.Sprintf(`apiVersion: v1
kind: Config
clusters:
- name: hoop
  cluster:
    server: https://%s
    certificate-authority: %s
users:
- name: %s
  user:
    token: %s
contexts:
- name: hoop
  context: {cluster: hoop, user: %s, namespace: default}
current-context: hoop
`, b.Addr("k8s"), b.CA(), name, b.Token(t, name, groups...), name)
	if err := os.WriteFile(cfg, []byte(body), 0o600); err != nil {
		t.Fatal(err)
	}
	return &user{t: t, kubectl: k.Kubectl(), config: cfg, home: home, env: []string{"HOME=" + home, "KUBECONFIG=" + cfg}}
}

// with returns a copy of u whose kubectl runs with more environment.
func (u *user) with(env ...string) *user {
	c := *u
	c.env = append(append([]string(nil), u.env...), env...)
	return &c
}

func (u *user) cmd(args ...string) *exec.Cmd {
	cmd := exec.Command(u.kubectl, args...)
	cmd.Env = append(os.Environ(), u.env...)
	return cmd
}

// run runs kubectl to its end.
func (u *user) run(args ...string) (stdout, stderr string, code int) {
	u.t.Helper()
	var out, errb bytes.Buffer
	cmd := u.cmd(args...)
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	if ee, ok := err.(*exec.ExitError); ok {
		code = ee.ExitCode()
	} else if err != nil {
		u.t.Fatalf("kubectl %s: %v", strings.Join(args, " "), err)
	}
	return out.String(), errb.String(), code
}

// ok runs kubectl and wants it to succeed.
func (u *user) ok(args ...string) string {
	u.t.Helper()
	out, errs, code := u.run(args...)
	if code != 0 {
		u.t.Fatalf("kubectl %s: exit %d\n%s%s", strings.Join(args, " "), code, out, errs)
	}
	return out
}
