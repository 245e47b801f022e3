package main

import (
	"bufio"
	"crypto/tls"
	"crypto/x509"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"

	"github.com/hoophq/hoop/internal/testenv"
)

var (
	kubeCalls = flag.Int("kube-calls", 500, "sequential GETs per path in the Kubernetes section")
)

// benchKube lists the ConfigMaps of a namespace with sequential GETs (one
// client, keep-alive) straight to a throwaway kube-apiserver, through
// kubectl proxy (plain HTTP/1.1 on its client side; also impersonating, as
// the broker does, with --as), and through the broker
// (a hoopctl serve process that impersonates the caller and records every
// call; TLS with HTTP/2 as kubectl speaks it, and with HTTP/1.1), and prints
// calls/s, the CPU each proxy spent per call, and ratios.
func benchKube(hoopctl string) error {
	fmt.Printf("\n## %d sequential GETs of a ConfigMap list of 20 (calls/s, best of 3 rounds, higher is better; every call recorded through hoop)\n\n", *kubeCalls)
	k, err := testenv.StartKube("")
	if err != nil {
		return err
	}
	defer k.Stop()
	const list = "/api/v1/namespaces/default/configmaps"
	for i := range 20 {
		body := fmt.Sprintf(`{"metadata":{"name":"bench-%02d"},"data":{"key":"value %d"}}`, i, i)
		if st, b, err := k.Do("POST", list, body); err != nil || st != http.StatusCreated {
			return fmt.Errorf("creating configmaps: %d %s %v", st, b, err)
		}
	}
	dir, err := os.MkdirTemp("", "hoop-bench-kube-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)

	// kubectl proxy with the admin's kubeconfig.
	kcfg := filepath.Join(dir, "admin.kubeconfig")
	os.WriteFile(kcfg, []byte(k.Kubeconfig()), 0o600)
	proxy, proxyPort, err := startProxy(k, kcfg)
	if err != nil {
		return err
	}
	defer func() { proxy.Process.Kill(); proxy.Wait() }()
	// The same, impersonating the caller as the broker does: the API
	// server's cost of impersonation is then on both sides.
	asProxy, asPort, err := startProxy(k, kcfg, "--as", "bench", "--as-group", testenv.KubeAdmins)
	if err != nil {
		return err
	}
	defer func() { asProxy.Process.Kill(); asProxy.Wait() }()

	ports := freePorts("k8s")
	b, err := startBroker(hoopctl, dir, brokerSpec{
		ports: ports,
		connections: fmt.Sprintf(`  - name: k8s
    protocol: kube
    listen: 127.0.0.1:%d
    upstream:
      address: %s
      ca: %s
    kube:
      token: ${file:k8s.token}
    access:
      groups: [%s]
`, ports["k8s"], k.Address, k.CAFile, testenv.KubeAdmins),
		secrets: map[string][]byte{"k8s.token": []byte(k.BrokerToken + "\n")},
		groups:  testenv.KubeAdmins,
	})
	if err != nil {
		return err
	}
	defer b.stop()

	apiCA, err := os.ReadFile(k.CAFile)
	if err != nil {
		return err
	}
	brokerCA, err := os.ReadFile(filepath.Join(b.dir, "data", "tls", "broker.crt"))
	if err != nil {
		return err
	}
	hoopURL := fmt.Sprintf("https://127.0.0.1:%d%s", b.ports["k8s"], list)
	paths := []struct {
		name, url, token string
		ca               []byte
		impersonate, h1  bool
	}{
		{"direct", "https://" + k.Address + list, k.AdminToken, apiCA, false, false},
		{"direct, impersonating", "https://" + k.Address + list, k.BrokerToken, apiCA, true, false},
		{"kubectl proxy", fmt.Sprintf("http://127.0.0.1:%d%s", proxyPort, list), "", nil, false, true},
		{"kubectl proxy --as", fmt.Sprintf("http://127.0.0.1:%d%s", asPort, list), "", nil, false, true},
		{"hoop", hoopURL, b.token, brokerCA, false, false},
		{"hoop, HTTP/1.1 client", hoopURL, b.token, brokerCA, false, true},
	}
	// The paths take turns, three rounds; the best round of each counts,
	// which keeps the noise of a shared machine out of the ratios.
	rate := map[string]float64{}
	cpu := map[string]time.Duration{} // CPU of the middle process per call
	pids := map[string]int{"kubectl proxy": proxy.Process.Pid, "kubectl proxy --as": asProxy.Process.Pid, "hoop": b.pid(), "hoop, HTTP/1.1 client": b.pid()}
	for range 3 {
		for _, p := range paths {
			before := cpuTime(pids[p.name])
			r, err := getLoop(p.url, p.token, p.ca, p.impersonate, p.h1, *kubeCalls)
			if err != nil {
				return fmt.Errorf("%s: %w", p.name, err)
			}
			if r > rate[p.name] {
				rate[p.name] = r
				cpu[p.name] = (cpuTime(pids[p.name]) - before) / time.Duration(*kubeCalls+20)
			}
		}
	}
	for _, p := range paths {
		fmt.Printf("%-26s %10.0f calls/s   %.3f ms/call", p.name, rate[p.name], 1000/rate[p.name])
		if pids[p.name] != 0 {
			fmt.Printf("   %v CPU/call in the proxy", cpu[p.name].Round(time.Microsecond))
		}
		fmt.Println()
	}
	fmt.Println()
	for _, n := range []string{"hoop", "hoop, HTTP/1.1 client"} {
		fmt.Printf("%-26s %.2f× direct   %.2f× kubectl proxy   %.2f× kubectl proxy --as\n", n, rate[n]/rate["direct"], rate[n]/rate["kubectl proxy"], rate[n]/rate["kubectl proxy --as"])
	}
	fmt.Printf("%-26s %.2f× direct\n", "kubectl proxy", rate["kubectl proxy"]/rate["direct"])
	fmt.Printf("%-26s %.2f× direct (the API server's cost of impersonation)\n", "direct, impersonating", rate["direct, impersonating"]/rate["direct"])
	return nil
}

// startProxy runs kubectl proxy on a free port.
func startProxy(k *testenv.Kube, kubeconfig string, args ...string) (*exec.Cmd, int, error) {
	port, _ := testenv.FreePort()
	cmd := exec.Command(k.Kubectl(), append([]string{"--kubeconfig", kubeconfig, "proxy", "--port", fmt.Sprint(port)}, args...)...)
	out, _ := cmd.StdoutPipe()
	if err := cmd.Start(); err != nil {
		return nil, 0, err
	}
	if !bufio.NewScanner(out).Scan() { // "Starting to serve on ..."
		cmd.Process.Kill()
		cmd.Wait()
		return nil, 0, fmt.Errorf("kubectl proxy did not start")
	}
	return cmd, port, nil
}

// getLoop GETs url n times in a row over one kept-alive client (after a
// warm-up) and returns the calls per second.
func getLoop(url, token string, ca []byte, impersonate, h1 bool, n int) (float64, error) {
	tr := &http.Transport{ForceAttemptHTTP2: !h1, MaxIdleConnsPerHost: 1}
	if ca != nil {
		pool := x509.NewCertPool()
		pool.AppendCertsFromPEM(ca)
		tr.TLSClientConfig = &tls.Config{RootCAs: pool}
	}
	c := &http.Client{Transport: tr, Timeout: 30 * time.Second}
	get := func() error {
		req, _ := http.NewRequest("GET", url, nil)
		req.Header.Set("Accept", "application/json")
		if token != "" {
			req.Header.Set("Authorization", "Bearer "+token)
		}
		if impersonate { // what the broker adds, for comparison
			req.Header.Set("Impersonate-User", "bench")
			req.Header.Set("Impersonate-Group", testenv.KubeAdmins)
			req.Header.Set("Impersonate-Extra-Hoop.dev%2Fsession", "bench-session")
		}
		resp, err := c.Do(req)
		if err != nil {
			return err
		}
		_, err = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			return fmt.Errorf("status %s", resp.Status)
		}
		return err
	}
	for range 20 {
		if err := get(); err != nil {
			return 0, err
		}
	}
	start := time.Now()
	for range n {
		if err := get(); err != nil {
			return 0, err
		}
	}
	return float64(n) / time.Since(start).Seconds(), nil
}

// cpuTime is the user and system CPU a process used so far (0 for pid 0).
func cpuTime(pid int) time.Duration {
	if pid == 0 {
		return 0
	}
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0
	}
	// Fields after the command name, which is in parentheses.
	f := strings.Fields(string(b[strings.LastIndexByte(string(b), ')')+2:]))
	if len(f) < 13 {
		return 0
	}
	var ut, st int64
	fmt.Sscan(f[11], &ut)
	fmt.Sscan(f[12], &st)
	return time.Duration(ut+st) * 10 * time.Millisecond // USER_HZ is 100
}
