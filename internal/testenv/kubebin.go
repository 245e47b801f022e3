package testenv

import (
	"crypto/sha256"
	"crypto/tls"
	"encoding/hex"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"sort"
	"strings"
	"syscall"
)

// KubeVersion is the Kubernetes release the tools module builds: etcd at the
// version it uses, kube-apiserver and kubectl from k8s.io/kubernetes, and the
// kubelet stub from k8s.io/cri-streaming.
const KubeVersion = "v1.37.2"

// kubeBinaries are the programs KubeBin provides.
var kubeBinaries = []string{"etcd", "kube-apiserver", "kubectl", "kubeletstub"}

// KubeBin returns the directory holding etcd, kube-apiserver, kubectl and
// kubeletstub, building them first when they are missing or their sources
// changed. They are cached in the repository's ignored .cache/kube/VERSION/;
// HOOP_KUBE_BIN names another directory instead. A cold build takes minutes
// and ~3 GB of memory; concurrent callers (test packages run in parallel)
// wait for one build under a file lock.
func KubeBin() (string, error) {
	if d := os.Getenv("HOOP_KUBE_BIN"); d != "" {
		return d, nil
	}
	tools, err := kubeToolsDir()
	if err != nil {
		return "", err
	}
	dir := filepath.Join(tools, "..", "..", "..", ".cache", "kube", KubeVersion)
	dir = filepath.Clean(dir)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", err
	}
	stamp, err := sourceStamp(tools)
	if err != nil {
		return "", err
	}
	if fresh(dir, stamp) {
		return dir, nil
	}
	lock, err := os.OpenFile(filepath.Join(dir, ".lock"), os.O_CREATE|os.O_RDWR, 0o644)
	if err != nil {
		return "", err
	}
	defer lock.Close()
	if err := syscall.Flock(int(lock.Fd()), syscall.LOCK_EX); err != nil {
		return "", err
	}
	defer syscall.Flock(int(lock.Fd()), syscall.LOCK_UN)
	if fresh(dir, stamp) { // another process built them while we waited
		return dir, nil
	}
	fmt.Fprintf(os.Stderr, "testenv: building Kubernetes %s binaries into %s (minutes on a cold cache)\n", KubeVersion, dir)
	cmd := exec.Command("go", "build", "-trimpath", "-ldflags", kubeLdflags(), "-o", dir+"/",
		"k8s.io/kubernetes/cmd/kube-apiserver", "k8s.io/kubernetes/cmd/kubectl", "./etcd", "./kubeletstub")
	cmd.Dir = tools
	cmd.Env = append(os.Environ(), "GOWORK=off")
	if out, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("building the Kubernetes binaries: %v\n%s", err, out)
	}
	if err := os.WriteFile(filepath.Join(dir, ".stamp"), []byte(stamp), 0o644); err != nil {
		return "", err
	}
	return dir, nil
}

// kubeLdflags stamps the release into the binaries, as Kubernetes' own build
// does: kubectl version and the API server's /version report it.
func kubeLdflags() string {
	var b strings.Builder
	for _, pkg := range []string{"k8s.io/component-base/version", "k8s.io/client-go/pkg/version"} {
		fmt.Fprintf(&b, "-X %s.gitVersion=%s -X %s.gitMajor=1 -X %s.gitMinor=37 -X %s.gitTreeState=clean ", pkg, KubeVersion, pkg, pkg, pkg)
	}
	return strings.TrimSpace(b.String())
}

// kubeToolsDir is internal/testenv/kubetools beside this file.
func kubeToolsDir() (string, error) {
	_, file, _, ok := runtime.Caller(0)
	if !ok {
		return "", fmt.Errorf("kubetools: cannot locate the source tree")
	}
	d := filepath.Join(filepath.Dir(file), "kubetools")
	if _, err := os.Stat(filepath.Join(d, "go.mod")); err != nil {
		return "", fmt.Errorf("kubetools: %w", err)
	}
	return d, nil
}

// sourceStamp hashes the tools module's go.mod, go.sum and sources: a change
// rebuilds the binaries.
func sourceStamp(tools string) (string, error) {
	var files []string
	err := filepath.WalkDir(tools, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if !d.IsDir() && (strings.HasSuffix(p, ".go") || strings.HasSuffix(p, "go.mod") || strings.HasSuffix(p, "go.sum")) {
			files = append(files, p)
		}
		return nil
	})
	if err != nil {
		return "", err
	}
	sort.Strings(files)
	h := sha256.New()
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			return "", err
		}
		rel, _ := filepath.Rel(tools, f)
		fmt.Fprintf(h, "%s %d\n", rel, len(b))
		h.Write(b)
	}
	fmt.Fprintf(h, "ldflags %s\n", kubeLdflags())
	return KubeVersion + " " + hex.EncodeToString(h.Sum(nil)), nil
}

func fresh(dir, stamp string) bool {
	b, err := os.ReadFile(filepath.Join(dir, ".stamp"))
	if err != nil || string(b) != stamp {
		return false
	}
	for _, n := range kubeBinaries {
		if _, err := os.Stat(filepath.Join(dir, n)); err != nil {
			return false
		}
	}
	return true
}

// insecureLoopback is the TLS configuration for the harness's own stub on
// loopback, whose certificate nobody pins.
func insecureLoopback() *tls.Config { return &tls.Config{InsecureSkipVerify: true} }
