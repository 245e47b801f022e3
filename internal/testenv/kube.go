package testenv

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// Kube is a throwaway Kubernetes control plane: etcd and kube-apiserver on
// loopback high ports in a temporary directory, a static token file, RBAC,
// an audit log, and one Node whose kubelet endpoint is the kubelet stub
// (exec, attach, logs, port-forward). No scheduler or controllers run: pods
// are created bound to the node and marked running by the harness.
type Kube struct {
	Dir     string // everything; removed by Stop
	Address string // 127.0.0.1:PORT of the API server
	CAFile  string // the API server's (self-signed) certificate, to pin it
	Bin     string // directory of kubectl and the others
	Node    string // the node's name
	// AdminToken belongs to user "admin" in system:masters.
	AdminToken string
	// BrokerToken belongs to user "hoop-broker", which may impersonate users,
	// groups and extras, and nothing else.
	BrokerToken string
	// AuditLog is the API server's audit log (JSON lines, Metadata level).
	AuditLog string

	procs  []*proc
	client *http.Client
	stub   string // the kubelet stub's address
}

// Kubectl is the path of the kubectl built with the control plane.
func (k *Kube) Kubectl() string { return filepath.Join(k.Bin, "kubectl") }

// StartKube builds the binaries if needed (KubeBin) and starts a control
// plane in a new directory under parent ("" for the system temp dir).
func StartKube(parent string) (*Kube, error) {
	bin, err := KubeBin()
	if err != nil {
		return nil, err
	}
	dir, err := os.MkdirTemp(parent, "hoop-kube-")
	if err != nil {
		return nil, err
	}
	k := &Kube{Dir: dir, Bin: bin, Node: "hoop-node", AuditLog: filepath.Join(dir, "audit.log"),
		AdminToken:  "admin-" + strconv.FormatInt(time.Now().UnixNano(), 36),
		BrokerToken: "broker-" + strconv.FormatInt(time.Now().UnixNano()+1, 36),
	}
	if err := k.start(); err != nil {
		k.Stop()
		return nil, err
	}
	return k, nil
}

func (k *Kube) start() error {
	ports := make([]int, 4)
	for i := range ports {
		p, err := FreePort()
		if err != nil {
			return err
		}
		ports[i] = p
	}
	etcdClient, etcdPeer, apiPort, stubPort := ports[0], ports[1], ports[2], ports[3]
	k.Address = fmt.Sprintf("127.0.0.1:%d", apiPort)
	k.stub = fmt.Sprintf("127.0.0.1:%d", stubPort)
	pem, err := SelfSignedCert(k.Dir, "apiserver")
	if err != nil {
		return err
	}
	k.CAFile = filepath.Join(k.Dir, "apiserver.crt")
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(pem)
	k.client = &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}}, Timeout: 30 * time.Second}
	if _, err := SelfSignedCert(k.Dir, "kubelet"); err != nil {
		return err
	}
	if err := writeSAKey(k.Dir); err != nil {
		return err
	}
	files := map[string]string{
		"tokens.csv": fmt.Sprintf("%s,admin,admin,\"system:masters\"\n%s,hoop-broker,hoop-broker,\n", k.AdminToken, k.BrokerToken),
		"audit.yaml": "apiVersion: audit.k8s.io/v1\nkind: Policy\nrules:\n- level: Metadata\n",
	}
	for name, body := range files {
		if err := os.WriteFile(filepath.Join(k.Dir, name), []byte(body), 0o600); err != nil {
			return err
		}
	}

	etcdURL := fmt.Sprintf("http://127.0.0.1:%d", etcdClient)
	peerURL := fmt.Sprintf("http://127.0.0.1:%d", etcdPeer)
	if err := k.run("etcd", "--name", "default", "--data-dir", filepath.Join(k.Dir, "etcd"),
		"--listen-client-urls", etcdURL, "--advertise-client-urls", etcdURL,
		"--listen-peer-urls", peerURL, "--initial-advertise-peer-urls", peerURL,
		"--initial-cluster", "default="+peerURL, "--log-level", "error", "--unsafe-no-fsync"); err != nil {
		return err
	}
	if err := WaitPort(fmt.Sprintf("127.0.0.1:%d", etcdClient), 30*time.Second, k.procs[0].exited()); err != nil {
		return fmt.Errorf("etcd: %w (log: %s)", err, k.logFile("etcd"))
	}
	if err := k.run("kubeletstub", "-listen", k.stub, "-cert", filepath.Join(k.Dir, "kubelet.crt"), "-key", filepath.Join(k.Dir, "kubelet.key")); err != nil {
		return err
	}
	d := k.Dir
	if err := k.run("kube-apiserver",
		"--etcd-servers", etcdURL,
		"--bind-address", "127.0.0.1", "--advertise-address", "127.0.0.1", "--secure-port", strconv.Itoa(apiPort),
		"--tls-cert-file", filepath.Join(d, "apiserver.crt"), "--tls-private-key-file", filepath.Join(d, "apiserver.key"),
		"--token-auth-file", filepath.Join(d, "tokens.csv"), "--anonymous-auth=false",
		"--authorization-mode", "RBAC",
		"--service-account-issuer", "https://kubernetes.default.svc",
		"--service-account-key-file", filepath.Join(d, "sa.pub"), "--service-account-signing-key-file", filepath.Join(d, "sa.key"),
		"--service-cluster-ip-range", "10.96.0.0/24",
		"--endpoint-reconciler-type", "none",
		"--disable-admission-plugins", "ServiceAccount",
		"--kubelet-preferred-address-types", "InternalIP",
		"--audit-policy-file", filepath.Join(d, "audit.yaml"), "--audit-log-path", k.AuditLog,
		"--profiling=false", "--v=1"); err != nil {
		return err
	}
	if err := k.waitReady(k.procs[2]); err != nil {
		return err
	}
	return k.bootstrap(stubPort)
}

// run starts a binary with its output in DIR/NAME.log.
func (k *Kube) run(name string, args ...string) error {
	log, err := os.Create(k.logFile(name))
	if err != nil {
		return err
	}
	cmd := exec.Command(filepath.Join(k.Bin, name), args...)
	cmd.Stdout, cmd.Stderr = log, log
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		log.Close()
		return fmt.Errorf("%s: %w", name, err)
	}
	p := &proc{cmd: cmd, done: make(chan struct{})}
	go func() { p.err = cmd.Wait(); log.Close(); close(p.done) }()
	k.procs = append(k.procs, p)
	return nil
}

// proc is a running server of the control plane.
type proc struct {
	cmd  *exec.Cmd
	done chan struct{} // closed when it exited; err is then set
	err  error
}

// exited delivers the exit status once the process exited.
func (p *proc) exited() <-chan error {
	ch := make(chan error, 1)
	go func() { <-p.done; ch <- p.err }()
	return ch
}

func (k *Kube) logFile(name string) string { return filepath.Join(k.Dir, name+".log") }

// waitReady polls /readyz until the API server is ready.
func (k *Kube) waitReady(p *proc) error {
	deadline := time.Now().Add(90 * time.Second)
	for {
		st, _, err := k.Do("GET", "/readyz", "")
		if err == nil && st == http.StatusOK {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("kube-apiserver not ready (status %d, %v); log: %s", st, err, k.logFile("kube-apiserver"))
		}
		select {
		case <-p.done:
			return fmt.Errorf("kube-apiserver exited: %v; log: %s", p.err, k.logFile("kube-apiserver"))
		case <-time.After(100 * time.Millisecond):
		}
	}
}

// Do sends a request to the API server as admin and returns the status and
// body. body is JSON (or a merge patch for PATCH).
func (k *Kube) Do(method, path, body string) (int, []byte, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, method, "https://"+k.Address+path, strings.NewReader(body))
	if err != nil {
		return 0, nil, err
	}
	req.Header.Set("Authorization", "Bearer "+k.AdminToken)
	req.Header.Set("Content-Type", "application/json")
	if method == http.MethodPatch {
		req.Header.Set("Content-Type", "application/merge-patch+json")
	}
	resp, err := k.client.Do(req)
	if err != nil {
		return 0, nil, err
	}
	defer resp.Body.Close()
	var b strings.Builder
	_, err = copyLimited(&b, resp.Body, 16<<20)
	return resp.StatusCode, []byte(b.String()), err
}

// must is Do that wants a 2xx.
func (k *Kube) must(method, path, body string) error {
	st, b, err := k.Do(method, path, body)
	if err != nil {
		return fmt.Errorf("%s %s: %w", method, path, err)
	}
	if st/100 != 2 {
		return fmt.Errorf("%s %s: %d %s", method, path, st, b)
	}
	return nil
}

// Stop kills the control plane and removes its directory.
func (k *Kube) Stop() {
	for i := len(k.procs) - 1; i >= 0; i-- {
		p := k.procs[i]
		syscall.Kill(-p.cmd.Process.Pid, syscall.SIGKILL)
		<-p.done
	}
	k.procs = nil
	if k.Dir != "" && os.Getenv("HOOP_KEEP_KUBE") == "" {
		os.RemoveAll(k.Dir)
	}
}
