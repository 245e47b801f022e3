package kube_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/hoophq/hoop/internal/testenv"
)

// TestKubeconfig writes a context with hoopctl kubeconfig and drives kubectl
// with it: kubectl runs hoopctl kube-credential for the token.
func TestKubeconfig(t *testing.T) {
	k := kubeCluster(t)
	b := kubeBroker(t, k)
	home := t.TempDir()
	tokFile := filepath.Join(home, "token")
	if err := os.WriteFile(tokFile, []byte(b.Token(t, "carol", testenv.KubeViewers)+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	cfg := filepath.Join(home, "kube", "config")
	out, errs, code := b.Hoopctl("kubeconfig", "k8s", "--kubeconfig", cfg, "--server-url", "https://"+b.Addr("k8s"),
		"--certificate-authority", b.CA(), "--token-file", tokFile, "--namespace", "default")
	if code != 0 || !strings.Contains(out, `context "hoop-k8s"`) {
		t.Fatalf("hoopctl kubeconfig: exit %d\n%s%s", code, out, errs)
	}
	u := &user{t: t, kubectl: k.Kubectl(), config: cfg, home: home,
		env: []string{"HOME=" + home, "KUBECONFIG=" + cfg, "HOOP_TEST_AS_HOOPCTL=1", "HOOP_TOKEN="}}
	if got := u.ok("auth", "whoami", "-o", "jsonpath={.status.userInfo.username}"); got != "carol" {
		t.Fatalf("whoami with the exec plugin = %q; want carol", got)
	}
	// Without a token the plugin says what is missing.
	os.Remove(tokFile)
	_, errs, code = u.run("get", "pods")
	if code == 0 || !strings.Contains(errs, "kube-credential") {
		t.Fatalf("without a token: exit %d, %q", code, errs)
	}
	body, _ := os.ReadFile(cfg)
	if strings.Contains(string(body), "token:") {
		t.Errorf("the kubeconfig holds a token:\n%s", body)
	}
}
