package testenv

import (
	"crypto/ed25519"
	"crypto/rand"
	"encoding/pem"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"golang.org/x/crypto/ssh"
)

// SSHUser is the login a throwaway sshd serves when the tests run as root: an
// unprivileged system account with /bin/sh as its shell, so that interactive
// sessions print the same prompt on every machine. It is created on first use.
const SSHUser = "hoop-ssh"

// SSHD is a throwaway OpenSSH server: `sshd -D -f <config>` on a loopback high
// port with a generated ed25519 host key, public-key logins only, for one
// account whose authorized key is ClientKey. It accepts HOOP_* environment
// variables and allows TCP forwarding.
type SSHD struct {
	Dir  string // config, keys, log; removed by Stop
	Host string // 127.0.0.1
	Port int
	// User is the login served: SSHUser as root, else the current user.
	User string
	// Home is User's home directory.
	Home string
	// Files is a directory User can write, for copies.
	Files string
	// HostKey is the server's host key, and HostKeyFingerprint its SHA256
	// fingerprint as ssh-keygen -l prints it.
	HostKey            ssh.PublicKey
	HostKeyFingerprint string
	// ClientKey is the private key file (OpenSSH format, 0600) authorized for
	// User; ClientKeyPEM is its contents.
	ClientKey    string
	ClientKeyPEM []byte
	LogFile      string // sshd's log (-e), LogLevel VERBOSE

	cmd  *exec.Cmd
	done chan error
}

// StartSSHD starts a server in a new directory under parent ("" for the
// system temp dir).
func StartSSHD(parent string) (*SSHD, error) {
	bin := "/usr/sbin/sshd"
	if _, err := os.Stat(bin); err != nil {
		return nil, fmt.Errorf("sshd (openssh-server): %w", ErrMissing)
	}
	login, home, err := sshLogin()
	if err != nil {
		return nil, err
	}
	dir, err := os.MkdirTemp(parent, "hoop-sshd-")
	if err != nil {
		return nil, err
	}
	port, err := FreePort()
	if err != nil {
		os.RemoveAll(dir)
		return nil, err
	}
	s := &SSHD{Dir: dir, Host: "127.0.0.1", Port: port, User: login, Home: home,
		Files: filepath.Join(dir, "files"), LogFile: filepath.Join(dir, "sshd.log"), done: make(chan error, 1)}
	if err := s.start(bin); err != nil {
		s.Stop()
		return nil, err
	}
	return s, nil
}

// sshLogin returns the account a throwaway sshd serves, creating SSHUser when
// running as root.
func sshLogin() (name, home string, err error) {
	if os.Geteuid() != 0 {
		u, err := user.Current()
		if err != nil {
			return "", "", err
		}
		return u.Username, u.HomeDir, nil
	}
	home = "/var/lib/" + SSHUser
	if _, err := user.Lookup(SSHUser); err != nil {
		// -p '*': no password, but not a locked account, which sshd would
		// refuse without PAM.
		out, err := exec.Command("useradd", "--system", "--no-create-home", "--home-dir", home,
			"--shell", "/bin/sh", "--password", "*", SSHUser).CombinedOutput()
		if _, lerr := user.Lookup(SSHUser); lerr != nil {
			return "", "", fmt.Errorf("useradd %s: %v: %s", SSHUser, err, out)
		}
	}
	u, err := user.Lookup(SSHUser)
	if err != nil {
		return "", "", err
	}
	if err := os.MkdirAll(u.HomeDir, 0o755); err != nil {
		return "", "", err
	}
	uid, _ := strconv.Atoi(u.Uid)
	gid, _ := strconv.Atoi(u.Gid)
	if err := os.Chown(u.HomeDir, uid, gid); err != nil {
		return "", "", err
	}
	return SSHUser, u.HomeDir, nil
}

func (s *SSHD) start(bin string) error {
	// sshd's privilege separation directory.
	if os.Geteuid() == 0 {
		if err := os.MkdirAll("/run/sshd", 0o755); err != nil {
			return err
		}
	}
	// The session runs as User: it must reach Files.
	if err := os.Chmod(s.Dir, 0o755); err != nil {
		return err
	}
	if err := os.Mkdir(s.Files, 0o755); err != nil {
		return err
	}
	if u, err := user.Lookup(s.User); err == nil && os.Geteuid() == 0 {
		uid, _ := strconv.Atoi(u.Uid)
		gid, _ := strconv.Atoi(u.Gid)
		if err := os.Chown(s.Files, uid, gid); err != nil {
			return err
		}
	}
	hostKey := filepath.Join(s.Dir, "ssh_host_ed25519_key")
	pub, err := writeSSHKey(hostKey, "hoop-testenv-host")
	if err != nil {
		return err
	}
	s.HostKey = pub
	s.HostKeyFingerprint = ssh.FingerprintSHA256(pub)
	s.ClientKey = filepath.Join(s.Dir, "client_ed25519_key")
	cpub, err := writeSSHKey(s.ClientKey, "hoop-testenv-client")
	if err != nil {
		return err
	}
	if s.ClientKeyPEM, err = os.ReadFile(s.ClientKey); err != nil {
		return err
	}
	authorized := filepath.Join(s.Dir, "authorized_keys")
	if err := os.WriteFile(authorized, ssh.MarshalAuthorizedKey(cpub), 0o644); err != nil {
		return err
	}
	root := "no"
	if s.User == "root" {
		root = "prohibit-password"
	}
	cfg := fmt.Sprintf(`Port %d
ListenAddress %s
HostKey %s
PidFile %s
AuthorizedKeysFile %s
AllowUsers %s
PermitRootLogin %s
StrictModes no
UsePAM no
PubkeyAuthentication yes
PasswordAuthentication no
KbdInteractiveAuthentication no
PrintMotd no
PrintLastLog no
AcceptEnv HOOP_* LANG LC_*
AllowTcpForwarding yes
X11Forwarding no
Subsystem sftp internal-sftp
MaxStartups 200
MaxSessions 100
LogLevel VERBOSE
`, s.Port, s.Host, hostKey, filepath.Join(s.Dir, "sshd.pid"), authorized, s.User, root)
	cfgPath := filepath.Join(s.Dir, "sshd_config")
	if err := os.WriteFile(cfgPath, []byte(cfg), 0o644); err != nil {
		return err
	}
	log, err := os.Create(s.LogFile)
	if err != nil {
		return err
	}
	s.cmd = exec.Command(bin, "-D", "-e", "-f", cfgPath)
	s.cmd.Stdout, s.cmd.Stderr = log, log
	if err := s.cmd.Start(); err != nil {
		log.Close()
		return err
	}
	go func() { s.done <- s.cmd.Wait(); log.Close() }()
	if err := WaitPort(s.Addr(), 20*time.Second, s.done); err != nil {
		out, _ := os.ReadFile(s.LogFile)
		return fmt.Errorf("sshd: %v\n%s", err, out)
	}
	return nil
}

// writeSSHKey generates an ed25519 key into path (OpenSSH format, 0600) and
// returns its public key.
func writeSSHKey(path, comment string) (ssh.PublicKey, error) {
	pub, key, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		return nil, err
	}
	blk, err := ssh.MarshalPrivateKey(key, comment)
	if err != nil {
		return nil, err
	}
	if err := os.WriteFile(path, pem.EncodeToMemory(blk), 0o600); err != nil {
		return nil, err
	}
	spub, err := ssh.NewPublicKey(pub)
	if err != nil {
		return nil, err
	}
	if err := os.WriteFile(path+".pub", ssh.MarshalAuthorizedKey(spub), 0o644); err != nil {
		return nil, err
	}
	return spub, nil
}

// Addr is host:port.
func (s *SSHD) Addr() string { return fmt.Sprintf("%s:%d", s.Host, s.Port) }

// KnownHostsLine is the server's known_hosts line, under its address.
func (s *SSHD) KnownHostsLine() string {
	return fmt.Sprintf("[%s]:%d %s", s.Host, s.Port, strings.TrimSpace(string(ssh.MarshalAuthorizedKey(s.HostKey))))
}

// Log returns what sshd logged so far.
func (s *SSHD) Log() string {
	b, _ := os.ReadFile(s.LogFile)
	return string(b)
}

// Stop stops the server and removes its directory.
func (s *SSHD) Stop() {
	if s == nil {
		return
	}
	if s.cmd != nil && s.cmd.Process != nil {
		s.cmd.Process.Signal(os.Interrupt)
		select {
		case <-s.done:
		case <-time.After(10 * time.Second):
			s.cmd.Process.Kill()
			<-s.done
		}
	}
	os.RemoveAll(s.Dir)
}

// ErrSSHClient is returned by SSHClients when a stock client is missing.
var ErrSSHClient = errors.New("ssh, scp, sftp or rsync is missing")

// SSHClients checks that the stock OpenSSH clients and rsync are installed.
func SSHClients() error {
	for _, c := range []string{"ssh", "scp", "sftp", "rsync", "ssh-keygen"} {
		if _, err := lookPath(c); err != nil {
			return err
		}
	}
	return nil
}
