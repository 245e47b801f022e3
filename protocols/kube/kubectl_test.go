package kube_test

import (
	"bufio"
	"crypto/tls"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/hoophq/hoop/internal/brokertest"
	"github.com/hoophq/hoop/internal/testenv"
	"github.com/hoophq/hoop/protocols/kube"
	"github.com/hoophq/hoop/session"
)

// TestKubectl drives stock kubectl through the broker to a real API server:
// whoami, apply, get, delete, a watch that sees a change, a Secret whose
// values never reach the recording, a Forbidden from the cluster's RBAC for
// the impersonated user, and client impersonation refused.
func TestKubectl(t *testing.T) {
	k := kubeCluster(t)
	b := kubeBroker(t, k)
	alice := newUser(t, b, k, "alice", testenv.KubeAdmins)

	// The API server sees the originating user.
	var who struct {
		Status struct {
			UserInfo struct {
				Username string              `json:"username"`
				Groups   []string            `json:"groups"`
				Extra    map[string][]string `json:"extra"`
			} `json:"userInfo"`
		} `json:"status"`
	}
	if err := json.Unmarshal([]byte(alice.ok("auth", "whoami", "-o", "json")), &who); err != nil {
		t.Fatal(err)
	}
	ui := who.Status.UserInfo
	if ui.Username != "alice" || !contains(ui.Groups, testenv.KubeAdmins) || len(ui.Extra["hoop.dev/session"]) != 1 {
		t.Fatalf("whoami through the broker = %+v; want alice in %s with the session as an extra", ui, testenv.KubeAdmins)
	}

	// apply, get, delete.
	manifest := filepath.Join(alice.home, "cm.yaml")
	os.WriteFile(manifest, []byte("apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: settings\ndata:\n  colour: blue\n"), 0o600)
	if out := alice.ok("apply", "-f", manifest); !strings.Contains(out, "configmap/settings created") {
		t.Fatalf("apply: %q", out)
	}
	if out := alice.ok("get", "configmap", "settings", "-o", "jsonpath={.data.colour}"); out != "blue" {
		t.Fatalf("get: %q", out)
	}
	if out := alice.ok("get", "configmaps"); !strings.Contains(out, "settings") {
		t.Fatalf("get configmaps: %q", out)
	}

	// RBAC applies to the impersonated user: bob may read, not delete.
	bob := newUser(t, b, k, "bob", testenv.KubeViewers)
	if out := bob.ok("get", "configmap", "settings", "-o", "name"); strings.TrimSpace(out) != "configmap/settings" {
		t.Fatalf("bob get: %q", out)
	}
	_, errs, code := bob.run("delete", "configmap", "settings")
	want := `configmaps "settings" is forbidden: User "bob" cannot delete resource "configmaps" in API group "" in the namespace "default"`
	if code == 0 || !strings.Contains(errs, want) {
		t.Fatalf("bob delete: exit %d, %q; want the API server's Forbidden: %s", code, errs, want)
	}
	if out := alice.ok("delete", "configmap", "settings"); !strings.Contains(out, `configmap "settings" deleted`) {
		t.Fatalf("delete: %q", out)
	}

	// Client impersonation is refused by the broker.
	_, errs, code = alice.run("--as", "admin", "get", "pods")
	if code == 0 || !strings.Contains(errs, "Forbidden") || !strings.Contains(errs, "cannot be changed") {
		t.Fatalf("--as admin: exit %d, %q; want the broker's refusal", code, errs)
	}

	// A watch sees a change as it happens.
	w := alice.cmd("get", "configmaps", "-w", "-o", "name")
	stdout, _ := w.StdoutPipe()
	if err := w.Start(); err != nil {
		t.Fatal(err)
	}
	lines := bufio.NewScanner(stdout)
	alice.ok("create", "configmap", "watched", "--from-literal=k=v")
	for lines.Scan() && lines.Text() != "configmap/watched" {
	}
	if lines.Text() != "configmap/watched" {
		t.Fatalf("watch ended without the change: %v", lines.Err())
	}
	w.Process.Kill()
	w.Wait()

	// A Secret: kubectl shows its values, the recording never holds them.
	const secret = "S3cr3t-Value-42"
	alice.ok("create", "secret", "generic", "creds", "--from-literal=password="+secret)
	sm := filepath.Join(alice.home, "secret.yaml")
	os.WriteFile(sm, []byte("apiVersion: v1\nkind: Secret\nmetadata:\n  name: applied\nstringData:\n  token: "+secret+"\n"), 0o600)
	alice.ok("apply", "-f", sm)
	out := alice.ok("get", "secret", "creds", "applied", "-o", "yaml")
	b64 := base64.StdEncoding.EncodeToString([]byte(secret))
	if !strings.Contains(out, b64) {
		t.Fatalf("kubectl get secret -o yaml does not show the value: %q", out)
	}
	alice.ok("delete", "secret", "creds", "applied")

	// The recording: every call a command with its API detail, verified;
	// no secret value in clear or in base64.
	all := b.EventsOf(t, 14, brokertest.OnConnection("k8s"))
	var sawSecretGet, sawForbidden, sawRefused bool
	for id, evs := range all {
		for _, ev := range evs {
			p := string(ev.Payload)
			if strings.Contains(p, secret) || strings.Contains(p, b64) || strings.Contains(p, k.BrokerToken) {
				t.Errorf("session %s seq %d holds a secret: %s", id, ev.Seq, p)
			}
			switch ev.Kind {
			case session.KindCommand:
				var c session.Command
				json.Unmarshal(ev.Payload, &c)
				if c.HTTP == nil || c.HTTP.Kube == nil {
					t.Errorf("command without API detail: %s", p)
					continue
				}
				if c.HTTP.Kube.Resource == "secrets" && c.HTTP.Kube.Verb == "get" {
					sawSecretGet = true
				}
			case session.KindResult:
				var r session.Result
				json.Unmarshal(ev.Payload, &r)
				if r.Error != nil && r.Error.Code == "403" && strings.Contains(r.Error.Message, `User "bob" cannot delete`) {
					sawForbidden = true
				}
			case session.KindPolicy:
				sawRefused = true
			}
		}
		if rep := b.Verify(id); rep.Status != session.StatusSealed {
			t.Errorf("session %s: %s", id, rep)
		}
	}
	if !sawSecretGet || !sawForbidden || !sawRefused {
		t.Errorf("recorded: secret get %v, bob's Forbidden %v, --as refusal %v; want all", sawSecretGet, sawForbidden, sawRefused)
	}

	// Bad credentials get the API's own answer: a Status, which kubectl shows.
	_, errs, code = alice.run("--token", "not-a-token", "get", "pods")
	if code == 0 || !strings.Contains(errs, "You must be logged in to the server (authentication failed") {
		t.Errorf("bad token: exit %d, %q; want Unauthorized", code, errs)
	}
	resp, err := http.Get("https://" + b.Addr("k8s") + "/api")
	if err == nil {
		resp.Body.Close()
		t.Errorf("a client that does not trust the broker's certificate got through")
	}
	st := rawGet(t, b, "/api/v1/namespaces/default/pods", "")
	if st.Kind != "Status" || st.Code != 401 || st.Reason != "Unauthorized" {
		t.Errorf("no token: %+v; want a 401 Status", st)
	}

	// The cluster's audit log names the real user.
	audit, _ := os.ReadFile(k.AuditLog)
	if !strings.Contains(string(audit), `"impersonatedUser":{"username":"alice"`) {
		t.Errorf("the audit log has no request impersonating alice")
	}
}

func contains(s []string, v string) bool {
	for _, e := range s {
		if e == v {
			return true
		}
	}
	return false
}

// rawGet sends one request with Go's client (no kubectl) and decodes the
// Status it answers.
func rawGet(t *testing.T, b *brokertest.Broker, path, token string) kube.Status {
	t.Helper()
	ca, _ := os.ReadFile(b.CA())
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(ca)
	c := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}}}
	req, _ := http.NewRequest("GET", "https://"+b.Addr("k8s")+path, nil)
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var st kube.Status
	if err := json.NewDecoder(resp.Body).Decode(&st); err != nil {
		t.Fatalf("%s: not a Status: %v", path, err)
	}
	return st
}
