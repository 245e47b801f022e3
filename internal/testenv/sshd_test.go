package testenv

import (
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

func TestSSHD(t *testing.T) {
	if err := SSHClients(); err != nil {
		t.Fatal(err)
	}
	s, err := StartSSHD("")
	if err != nil {
		t.Fatal(err)
	}
	defer s.Stop()
	known := filepath.Join(t.TempDir(), "known_hosts")
	if err := os.WriteFile(known, []byte(s.KnownHostsLine()+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command("ssh", "-F", "/dev/null", "-p", itoa(s.Port), "-i", s.ClientKey,
		"-o", "IdentitiesOnly=yes", "-o", "BatchMode=yes", "-o", "StrictHostKeyChecking=yes",
		"-o", "UserKnownHostsFile="+known, "-o", "SetEnv=HOOP_USER=alice",
		s.User+"@"+s.Host, `echo "$HOOP_USER:$(id -un)"; exit 7`)
	out, err := cmd.CombinedOutput()
	if ee, ok := err.(*exec.ExitError); !ok || ee.ExitCode() != 7 {
		t.Fatalf("ssh: %v\n%s\nsshd log:\n%s", err, out, s.Log())
	}
	if got, want := strings.TrimSpace(string(out)), "alice:"+s.User; got != want {
		t.Errorf("got %q; want %q", got, want)
	}
}

func itoa(n int) string { return strconv.Itoa(n) }
