package mysql_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/hoophq/hoop/session"
)

// deniedSessions waits for the denied sessions whose client gave user.
func deniedSessions(t *testing.T, user string) []session.Info {
	t.Helper()
	return srv.WaitEnded(t, 1, func(i session.Info) bool {
		return i.Meta["user"] == user && i.Outcome == session.OutcomeDenied
	})
}

func TestMariadbBadToken(t *testing.T) {
	integration(t)
	for _, tc := range []struct{ user, password, want string }{
		{"bad1", "not-a-token", "the password is not a token"},
		{"bad2", token(t, "bad2", "dba") + "x", "authentication failed"},
		{"bad3", "", "no token"},
	} {
		out, err := mariadb(t, connMain, tc.user, tc.password, "-e", "SELECT 1")
		if err == nil || !strings.Contains(out, "ERROR 1045 (28000)") || !strings.Contains(out, tc.want) {
			t.Errorf("%s: %v %q; want ERROR 1045 (28000) saying %q", tc.user, err, out, tc.want)
			continue
		}
		if strings.Contains(out, tc.password) && tc.password != "" {
			t.Errorf("%s: the error repeats the secret: %q", tc.user, out)
		}
		denied := deniedSessions(t, tc.user)
		if len(denied) != 1 || !strings.Contains(denied[0].Reason, tc.want) {
			t.Errorf("%s: denied sessions %+v; want one saying %q", tc.user, denied, tc.want)
		}
	}
}

func TestMariadbOutsideGroups(t *testing.T) {
	tok := token(t, "outsider", "marketing")
	out, err := mariadb(t, connMain, "outsider", tok, "-e", "SELECT 1")
	if err == nil || !strings.Contains(out, "ERROR 1045 (28000)") || !strings.Contains(out, "not in a group allowed") {
		t.Fatalf("mariadb: %v %q; want ERROR 1045 refusing the group", err, out)
	}
	denied := deniedSessions(t, "outsider")
	if len(denied) != 1 || denied[0].Principal.Subject != "outsider" {
		t.Fatalf("denied sessions %+v; want outsider's", denied)
	}
}

// Without TLS on a connection that has it, the client is refused before it
// is asked for its token.
func TestTLSRequired(t *testing.T) {
	tok := token(t, "plain", "dba")
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	cmd := mariadbCmd(ctx, connMain, "plain", tok, "-e", "SELECT 1")
	for i, a := range cmd.Args {
		if a == "--ssl" {
			cmd.Args[i] = "--skip-ssl"
		}
	}
	out, err := cmd.CombinedOutput()
	if err == nil || !strings.Contains(string(out), "ERROR 1045") || !strings.Contains(string(out), "requires TLS") {
		t.Fatalf("mariadb --skip-ssl: %v %q; want ERROR 1045 requiring TLS", err, out)
	}
	// The same client over a tls: off connection is served.
	if out := mustMariadb(t, connPlain, "plain", tok, "-B", "-N", "-e", "SELECT 'ok'"); out != "ok\n" {
		t.Fatalf("tls off: %q", out)
	}
}
