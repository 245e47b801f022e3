package main

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/hoophq/hoop/internal/testenv"
)

// kubeDemo starts a throwaway Kubernetes control plane (etcd, kube-apiserver
// and a kubelet stub) with a pod to look at, whose RBAC lets group read and
// nothing else. Its hint writes dir/kubeconfig with hoopctl kubeconfig (the
// token comes from hoopctl kube-credential, never from the file) and returns
// the kubectl lines to type; kubectl is the one built with the control plane,
// linked as dir/bin/kubectl. DEMO_KUBE=0 skips it.
func kubeDemo(dir, group string) (conn string, hint func() string, stop func(), err error) {
	if os.Getenv("DEMO_KUBE") == "0" {
		return "", nil, nil, errors.New("DEMO_KUBE=0")
	}
	if !kubeCached() {
		fmt.Printf("Building the Kubernetes control plane %s (etcd, kube-apiserver, kubectl) into .cache/kube:\n"+
			"  the first build takes several minutes; later demos start at once. DEMO_KUBE=0 skips Kubernetes.\n", testenv.KubeVersion)
	}
	fmt.Println("Starting a throwaway Kubernetes control plane...")
	k, err := testenv.StartKube("")
	if err != nil {
		return "", nil, nil, err
	}
	// The control plane's own viewer role, for the demo's group: get, list
	// and watch everything, change nothing.
	st, body, err := k.Do("POST", "/apis/rbac.authorization.k8s.io/v1/clusterrolebindings", `{"metadata":{"name":"hoop-demo-viewers"},
		"roleRef":{"apiGroup":"rbac.authorization.k8s.io","kind":"ClusterRole","name":"hoop-viewer"},
		"subjects":[{"apiGroup":"rbac.authorization.k8s.io","kind":"Group","name":"`+group+`"}]}`)
	if err == nil && st/100 != 2 {
		err = fmt.Errorf("RBAC for group %s: %d %s", group, st, body)
	}
	if err == nil {
		err = k.CreatePod("default", "web")
	}
	if err == nil {
		err = k.AppendLog("web", "GET / 200 (a line of the pod's log)")
	}
	abs, _ := filepath.Abs(dir)
	if err == nil {
		err = os.WriteFile(filepath.Join(dir, "kube-broker.token"), []byte(k.BrokerToken+"\n"), 0o600)
	}
	if err == nil {
		os.MkdirAll(filepath.Join(dir, "bin"), 0o755)
		err = os.Symlink(k.Kubectl(), filepath.Join(abs, "bin", "kubectl"))
	}
	if err != nil {
		k.Stop()
		return "", nil, nil, err
	}
	port := freePort(16443)
	conn = fmt.Sprintf(`  - name: kube-demo
    protocol: kube
    listen: 127.0.0.1:%d
    upstream:
      address: %s
      ca: %s
    kube:
      token: ${file:kube-broker.token}
    access:
      groups: [%s]
`, port, k.Address, k.CAFile, group)
	hint = func() string {
		args := []string{"kubeconfig", "kube-demo", "--kubeconfig", filepath.Join(dir, "kubeconfig"),
			"--token-file", filepath.Join(dir, "token"), "--namespace", "default"}
		if out, err := hoopctl(args...); err != nil {
			return fmt.Sprintf("Kubernetes: hoopctl kubeconfig failed: %v: %s", err, out)
		}
		kc := fmt.Sprintf("KUBECONFIG=%s/kubeconfig %s/bin/kubectl", dir, dir)
		return fmt.Sprintf(`Kubernetes — connection "kube-demo" on https://127.0.0.1:%d, API server %s (%s).
The broker impersonates you, so the cluster's RBAC applies: group %q may read, not change.
The kubeconfig holds no token (kubectl asks hoopctl kube-credential for it); the demo wrote it with

  %s --config %s/broker.yaml %s

%s/bin/kubectl is %s:

  %s get pods
  %s logs web
  %s auth whoami
  %s delete pod web      (forbidden by the API server)`,
			port, k.Address, testenv.KubeVersion, group, hoopctlBin, dir, strings.Join(args, " "), dir, k.Kubectl(),
			kc, kc, kc, kc)
	}
	return conn, hint, k.Stop, nil
}

// kubeCached says whether the control plane's binaries are built. When their
// sources changed since, testenv.KubeBin rebuilds them and says so itself.
func kubeCached() bool {
	if os.Getenv("HOOP_KUBE_BIN") != "" {
		return true
	}
	for _, f := range []string{".stamp", "etcd", "kube-apiserver", "kubectl", "kubeletstub"} {
		if _, err := os.Stat(filepath.Join(".cache", "kube", testenv.KubeVersion, f)); err != nil {
			return false
		}
	}
	return true
}
