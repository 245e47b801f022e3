package main

import (
	"crypto/rand"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"

	"golang.org/x/crypto/ssh"

	"github.com/hoophq/hoop/internal/testenv"
)

var (
	sshSize = flag.Int("ssh-mib", 256, "MiB copied by scp in the SSH section")
	sshRuns = flag.Int("ssh-runs", 3, "scp runs per path and direction (the best is kept)")
)

// benchSSH copies one file with scp (SFTP underneath, OpenSSH's default)
// straight to a throwaway sshd, through an OpenSSH ProxyJump bastion (ssh -J,
// a second sshd) and through the broker (a hoopctl serve process recording
// the file operations), up and down, and prints MB/s and ratios.
func benchSSH(hoopctl string) error {
	fmt.Printf("\n## scp of a %d MiB file (MB/s, best of %d; higher is better)\n\n", *sshSize, *sshRuns)
	target, err := testenv.StartSSHD("")
	if err != nil {
		return err
	}
	defer target.Stop()
	bastion, err := testenv.StartSSHD("")
	if err != nil {
		return err
	}
	defer bastion.Stop()
	dir, err := os.MkdirTemp("", "hoop-bench-ssh-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)

	b, err := startSSHBroker(hoopctl, dir, target)
	if err != nil {
		return err
	}
	defer b.stop()

	// One ssh_config names the three paths, each pinned to its host key.
	known := strings.Join([]string{target.KnownHostsLine(), bastion.KnownHostsLine(),
		fmt.Sprintf("[127.0.0.1]:%d %s", b.ports["ssh"], strings.TrimSpace(string(b.hostKey)))}, "\n") + "\n"
	if err := os.WriteFile(filepath.Join(dir, "known_hosts"), []byte(known), 0o600); err != nil {
		return err
	}
	host := func(name string, port int, user, key, extra string) string {
		return fmt.Sprintf("Host %s\n  HostName 127.0.0.1\n  Port %d\n  User %s\n  IdentityFile %s\n  IdentitiesOnly yes\n"+
			"  UserKnownHostsFile %s\n  StrictHostKeyChecking yes\n  BatchMode yes\n%s", name, port, user, key, filepath.Join(dir, "known_hosts"), extra)
	}
	cfg := host("direct", target.Port, target.User, target.ClientKey, "") +
		host("bastion", bastion.Port, bastion.User, bastion.ClientKey, "") +
		host("proxyjump", target.Port, target.User, target.ClientKey, "  ProxyJump bastion\n") +
		host("hoop", b.ports["ssh"], "bench", b.userKey, "")
	sshConfig := filepath.Join(dir, "ssh_config")
	if err := os.WriteFile(sshConfig, []byte(cfg), 0o600); err != nil {
		return err
	}

	src := filepath.Join(dir, "blob")
	if err := randomFile(src, int64(*sshSize)<<20); err != nil {
		return err
	}
	paths := []string{"direct", "proxyjump", "hoop"}
	up, down := map[string]float64{}, map[string]float64{}
	for _, p := range paths {
		remote := filepath.Join(target.Files, "blob-"+p)
		for range *sshRuns {
			mbs, err := scp(sshConfig, src, p+":"+remote)
			if err != nil {
				return fmt.Errorf("scp up %s: %w", p, err)
			}
			up[p] = max(up[p], mbs)
			mbs, err = scp(sshConfig, p+":"+remote, filepath.Join(dir, "back-"+p))
			if err != nil {
				return fmt.Errorf("scp down %s: %w", p, err)
			}
			down[p] = max(down[p], mbs)
		}
		os.Remove(remote)
		os.Remove(filepath.Join(dir, "back-"+p))
	}
	names := map[string]string{"direct": "direct", "proxyjump": "ProxyJump (ssh -J)", "hoop": "hoop (recorded)"}
	for _, p := range paths {
		fmt.Printf("%-22s up %7.1f MB/s   down %7.1f MB/s\n", names[p], up[p], down[p])
	}
	fmt.Println()
	fmt.Printf("%-22s up %.2f× ProxyJump, %.2f× direct   down %.2f× ProxyJump, %.2f× direct   (target ≥ 0.8× ProxyJump)\n", names["hoop"],
		up["hoop"]/up["proxyjump"], up["hoop"]/up["direct"], down["hoop"]/down["proxyjump"], down["hoop"]/down["direct"])
	fmt.Printf("broker RSS after the copies: %d MiB\n", rss(b.pid())>>20)
	return nil
}

// scp copies src to dst and returns the rate in MB/s.
func scp(config, src, dst string) (float64, error) {
	fi, err := os.Stat(src)
	size := int64(*sshSize) << 20
	if err == nil {
		size = fi.Size()
	}
	start := time.Now()
	out, err := exec.Command("scp", "-q", "-F", config, src, dst).CombinedOutput()
	if err != nil {
		return 0, fmt.Errorf("%v: %s", err, out)
	}
	return float64(size) / 1e6 / time.Since(start).Seconds(), nil
}

func randomFile(path string, size int64) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	if _, err := io.CopyN(f, rand.Reader, size); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

// sshBroker is a broker serving one ssh connection.
type sshBroker struct {
	*broker
	userKey string // private key bound to identity "bench"
	hostKey []byte // the broker's host key, authorized_keys format
}

// startSSHBroker starts `hoopctl serve` with one ssh connection in front of
// target, and a user key bound to identity "bench".
func startSSHBroker(hoopctl, dir string, target *testenv.SSHD) (*sshBroker, error) {
	userKey := filepath.Join(dir, "bench_key")
	if out, err := exec.Command("ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", userKey).CombinedOutput(); err != nil {
		return nil, fmt.Errorf("ssh-keygen: %v: %s", err, out)
	}
	pub, err := os.ReadFile(userKey + ".pub")
	if err != nil {
		return nil, err
	}
	ports := freePorts("ssh")
	b, err := startBroker(hoopctl, dir, brokerSpec{
		ports: ports,
		connections: fmt.Sprintf(`  - name: ssh
    protocol: ssh
    listen: 127.0.0.1:%d
    upstream:
      address: %s
      user: %s
    access:
      groups: [bench]
    ssh:
      upstream_key: ${file:upstream.key}
      upstream_host_key: %s
      keys:
        - key: %s
          user: bench
          groups: [bench]
`, ports["ssh"], target.Addr(), target.User, target.HostKeyFingerprint, strings.TrimSpace(string(pub))),
		secrets: map[string][]byte{"upstream.key": target.ClientKeyPEM},
	})
	if err != nil {
		return nil, err
	}
	// The host key is generated before the first client is accepted.
	hk, err := hostKey(fmt.Sprintf("127.0.0.1:%d", ports["ssh"]))
	if err != nil {
		b.stop()
		return nil, err
	}
	return &sshBroker{broker: b, userKey: userKey, hostKey: hk}, nil
}

// hostKey asks a server for its host key, as ssh-keyscan does.
func hostKey(addr string) ([]byte, error) {
	var key ssh.PublicKey
	cfg := &ssh.ClientConfig{User: "keyscan", Timeout: 10 * time.Second,
		HostKeyCallback: func(_ string, _ net.Addr, k ssh.PublicKey) error { key = k; return errKeyScanned }}
	_, err := ssh.Dial("tcp", addr, cfg)
	if key == nil {
		return nil, fmt.Errorf("host key of %s: %v", addr, err)
	}
	return ssh.MarshalAuthorizedKey(key), nil
}

var errKeyScanned = errors.New("scanned")
