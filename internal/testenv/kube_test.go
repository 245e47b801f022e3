package testenv

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// TestKube starts the control plane and drives stock kubectl at it directly:
// the harness itself works (the node, a pod, exec into the kubelet stub).
func TestKube(t *testing.T) {
	if testing.Short() {
		t.Skip("starts etcd and kube-apiserver")
	}
	k, err := StartKube(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	defer k.Stop()
	cfg := filepath.Join(k.Dir, "admin.kubeconfig")
	if err := os.WriteFile(cfg, []byte(k.Kubeconfig()), 0o600); err != nil {
		t.Fatal(err)
	}
	kubectl := func(args ...string) string {
		t.Helper()
		out, err := exec.Command(k.Kubectl(), append([]string{"--kubeconfig", cfg}, args...)...).CombinedOutput()
		if err != nil {
			t.Fatalf("kubectl %s: %v\n%s", strings.Join(args, " "), err, out)
		}
		return string(out)
	}
	if out := kubectl("get", "nodes", "-o", "name"); !strings.Contains(out, "node/"+k.Node) {
		t.Fatalf("nodes: %q", out)
	}
	if err := k.CreatePod("default", "web"); err != nil {
		t.Fatal(err)
	}
	if out := kubectl("exec", "web", "--", "sh", "-c", "echo hello-from-stub"); strings.TrimSpace(out) != "hello-from-stub" {
		t.Fatalf("exec: %q", out)
	}
	if err := k.AppendLog("web", "first line"); err != nil {
		t.Fatal(err)
	}
	if out := kubectl("logs", "web"); strings.TrimSpace(out) != "first line" {
		t.Fatalf("logs: %q", out)
	}
}
