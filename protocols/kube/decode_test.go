package kube

import (
	"encoding/base64"
	"fmt"
	"net/url"
	"strings"
	"testing"

	"github.com/gorilla/websocket"

	"github.com/hoophq/hoop/session"
)

func TestRequestInfo(t *testing.T) {
	for _, tc := range []struct {
		method, path string
		want         session.KubeRequest
	}{
		{"GET", "/api/v1/namespaces/default/configmaps", session.KubeRequest{Verb: "list", Version: "v1", Resource: "configmaps", Namespace: "default"}},
		{"GET", "/api/v1/namespaces/default/configmaps?watch=true", session.KubeRequest{Verb: "watch", Version: "v1", Resource: "configmaps", Namespace: "default"}},
		{"GET", "/api/v1/watch/namespaces/default/pods", session.KubeRequest{Verb: "watch", Version: "v1", Resource: "pods", Namespace: "default"}},
		{"GET", "/api/v1/namespaces/default/secrets/creds", session.KubeRequest{Verb: "get", Version: "v1", Resource: "secrets", Namespace: "default", Name: "creds"}},
		{"DELETE", "/apis/apps/v1/namespaces/ns1/deployments/web", session.KubeRequest{Verb: "delete", Group: "apps", Version: "v1", Resource: "deployments", Namespace: "ns1", Name: "web"}},
		{"DELETE", "/api/v1/namespaces/ns1/pods", session.KubeRequest{Verb: "deletecollection", Version: "v1", Resource: "pods", Namespace: "ns1"}},
		{"POST", "/api/v1/namespaces/default/pods/web/exec?command=sh", session.KubeRequest{Verb: "create", Version: "v1", Resource: "pods", Namespace: "default", Name: "web", Subresource: "exec"}},
		{"GET", "/api/v1/namespaces/default/pods/web/exec?command=sh", session.KubeRequest{Verb: "create", Version: "v1", Resource: "pods", Namespace: "default", Name: "web", Subresource: "exec"}},
		{"GET", "/api/v1/namespaces/kube-system", session.KubeRequest{Verb: "get", Version: "v1", Resource: "namespaces", Namespace: "kube-system", Name: "kube-system"}},
		{"PUT", "/api/v1/namespaces/x/finalize", session.KubeRequest{Verb: "update", Version: "v1", Resource: "namespaces", Namespace: "x", Name: "x", Subresource: "finalize"}},
		{"GET", "/api/v1/nodes", session.KubeRequest{Verb: "list", Version: "v1", Resource: "nodes"}},
		{"PATCH", "/api/v1/nodes/n1/status", session.KubeRequest{Verb: "patch", Version: "v1", Resource: "nodes", Name: "n1", Subresource: "status"}},
		{"GET", "/version", session.KubeRequest{Verb: "get"}},
		{"GET", "/apis", session.KubeRequest{Verb: "get"}},
	} {
		u, _ := url.Parse(tc.path)
		if got := requestInfo(tc.method, u); *got != tc.want {
			t.Errorf("%s %s: got %+v; want %+v", tc.method, tc.path, *got, tc.want)
		}
	}
}

func TestRedactBody(t *testing.T) {
	secrets := &session.KubeRequest{Resource: "secrets"}
	for _, tc := range []struct {
		name     string
		ri       *session.KubeRequest
		body     string
		complete bool
		want     string // "" with ok false: not recorded
		ok       bool
	}{
		{"configmap kept", &session.KubeRequest{Resource: "configmaps"}, `{"kind":"ConfigMap","data":{"a":"b"}}`, true, `{"kind":"ConfigMap","data":{"a":"b"}}`, true},
		{"secret data", secrets, `{"kind":"Secret","data":{"pw":"czNjcjN0"},"stringData":{"t":"s3cr3t"}}`, true,
			`{"data":{"pw":"[redacted]"},"kind":"Secret","stringData":{"t":"[redacted]"}}`, true},
		{"last applied", secrets, `{"kind":"Secret","metadata":{"annotations":{"kubectl.kubernetes.io/last-applied-configuration":"{\"stringData\":{\"t\":\"s3cr3t\"}}","x":"y"}}}`, true,
			`{"kind":"Secret","metadata":{"annotations":{"kubectl.kubernetes.io/last-applied-configuration":"[redacted]","x":"y"}}}`, true},
		{"list of secrets", &session.KubeRequest{Resource: "secrets"}, `{"kind":"SecretList","items":[{"data":{"a":"czNjcjN0"}}]}`, true,
			`{"items":[{"data":{"a":"[redacted]"}}],"kind":"SecretList"}`, true},
		{"watch stream", secrets, "{\"type\":\"ADDED\",\"object\":{\"kind\":\"Secret\",\"data\":{\"a\":\"czNjcjN0\"}}}\n{\"type\":\"DELETED\",\"object\":{\"kind\":\"Secret\",\"data\":{\"a\":\"czNjcjN0\"}}}\n", true,
			"{\"object\":{\"data\":{\"a\":\"[redacted]\"},\"kind\":\"Secret\"},\"type\":\"ADDED\"}\n{\"object\":{\"data\":{\"a\":\"[redacted]\"},\"kind\":\"Secret\"},\"type\":\"DELETED\"}", true},
		{"json patch", secrets, `[{"op":"replace","path":"/data/pw","value":"czNjcjN0"}]`, true, `[{"op":"replace","path":"/data/pw","value":"[redacted]"}]`, true},
		{"secret kind elsewhere", &session.KubeRequest{Resource: ""}, `{"kind":"List","items":[{"kind":"Secret","data":{"a":"czNjcjN0"}}]}`, true,
			`{"items":[{"data":{"a":"[redacted]"},"kind":"Secret"}],"kind":"List"}`, true},
		{"cut by the cap", secrets, `{"kind":"Secret","data":{"pw":"czNj`, false, "", false},
		{"protobuf", secrets, "k8s\x00\n\x0c\n\x02v1\x12\x06Secret", true, "", false},
		{"yaml", secrets, "kind: Secret\ndata:\n  pw: czNjcjN0\n", true, "", false},
	} {
		got, ok := redactBody(tc.ri, []byte(tc.body), tc.complete)
		if got != tc.want || ok != tc.ok {
			t.Errorf("%s: got %q, %v; want %q, %v", tc.name, got, ok, tc.want, tc.ok)
		}
	}
}

func TestDecodeFrame(t *testing.T) {
	ch, data, err := decodeFrame("v5.channel.k8s.io", websocket.BinaryMessage, []byte("\x01hello"))
	if err != nil || ch != 1 || string(data) != "hello" {
		t.Errorf("binary: %d %q %v", ch, data, err)
	}
	msg := "2" + base64.StdEncoding.EncodeToString([]byte("oops"))
	ch, data, err = decodeFrame("base64.channel.k8s.io", websocket.TextMessage, []byte(msg))
	if err != nil || ch != 2 || string(data) != "oops" {
		t.Errorf("base64: %d %q %v", ch, data, err)
	}
	for _, bad := range []string{"", "x", "1!!!"} {
		if _, _, err := decodeFrame("base64.channel.k8s.io", websocket.TextMessage, []byte(bad)); err == nil {
			t.Errorf("base64 %q: no error", bad)
		}
	}
}

func TestDecodeResizes(t *testing.T) {
	rest, got := decodeResizes([]byte("{\"Width\":80,\"Height\":24}\n{\"Width\":100,"))
	if len(got) != 1 || got[0] != (session.Resize{Cols: 80, Rows: 24}) || string(rest) != `{"Width":100,` {
		t.Fatalf("got %+v, rest %q", got, rest)
	}
	rest, got = decodeResizes(append(rest, "\"Height\":30}\n"...))
	if len(got) != 1 || got[0] != (session.Resize{Cols: 100, Rows: 30}) || len(rest) != 0 {
		t.Fatalf("continued: got %+v, rest %q", got, rest)
	}
	if rest, _ := decodeResizes([]byte("not json at all")); rest != nil {
		t.Errorf("garbage kept: %q", rest)
	}
}

func TestExitStatus(t *testing.T) {
	for _, tc := range []struct{ in, code, msg string }{
		{`{"metadata":{},"status":"Success"}`, "0", ""},
		{`{"metadata":{},"status":"Failure","message":"command terminated with non-zero exit code: exit status 3","reason":"NonZeroExitCode","details":{"causes":[{"reason":"ExitCode","message":"3"}]}}`, "3", "command terminated with non-zero exit code: exit status 3"},
		{`{"status":"Failure","message":"container not found"}`, "", "container not found"},
		{`plain text error`, "", "plain text error"},
	} {
		code, msg, ok := exitStatus([]byte(tc.in))
		if !ok || code != tc.code || msg != tc.msg {
			t.Errorf("%s: got %q %q %v", tc.in, code, msg, ok)
		}
	}
}

// The decoders of what clients and the API server send on streams never
// panic, and keep what they return bounded.

func FuzzDecodeFrame(f *testing.F) {
	f.Add("v5.channel.k8s.io", websocket.BinaryMessage, []byte("\x00ls\r"))
	f.Add("v4.channel.k8s.io", websocket.BinaryMessage, []byte("\x04{\"Width\":80,\"Height\":24}"))
	f.Add("base64.channel.k8s.io", websocket.TextMessage, []byte("1aGVsbG8="))
	f.Add("v5.channel.k8s.io", websocket.BinaryMessage, []byte("\xff\x00"))
	f.Fuzz(func(t *testing.T, proto string, mt int, msg []byte) {
		ch, data, err := decodeFrame(proto, mt, msg)
		if err != nil {
			return
		}
		if !strings.HasPrefix(proto, "base64.") && (ch != msg[0] || len(data) != len(msg)-1) {
			t.Fatalf("binary frame split wrongly: %d %q of %q", ch, data, msg)
		}
	})
}

func FuzzDecodeResizes(f *testing.F) {
	f.Add([]byte("{\"Width\":80,\"Height\":24}\n"), []byte("{\"Width\":1"))
	f.Add([]byte("{}"), []byte("[1,2]"))
	f.Fuzz(func(t *testing.T, a, b []byte) {
		rest, _ := decodeResizes(a)
		rest, _ = decodeResizes(append(rest, b...))
		if len(rest) > 1024 {
			t.Fatalf("partial resize kept %d bytes", len(rest))
		}
	})
}

func FuzzExitStatus(f *testing.F) {
	f.Add([]byte(`{"status":"Failure","details":{"causes":[{"reason":"ExitCode","message":"3"}]}}`))
	f.Add([]byte(`{"status":"Success"}`))
	f.Fuzz(func(t *testing.T, b []byte) { exitStatus(b) })
}

func FuzzRedactBody(f *testing.F) {
	f.Add([]byte(`{"kind":"Secret","data":{"pw":"czNjcjN0"}}`), true)
	f.Add([]byte(`[{"op":"add","path":"/data/x","value":"czNj"}]`), true)
	f.Add([]byte("{\"type\":\"ADDED\",\"object\":{\"kind\":\"Secret\",\"stringData\":{\"a\":\"s3cr3t\"}}}\n"), false)
	f.Fuzz(func(t *testing.T, body []byte, complete bool) {
		out, ok := redactBody(&session.KubeRequest{Resource: "secrets"}, body, complete)
		if !ok || out == "" {
			return
		}
		docs, err := decodeAll([]byte(out))
		if err != nil {
			t.Fatalf("recorded body is not JSON: %q", out)
		}
		for _, d := range docs {
			if leak := unredacted(d); leak != "" {
				t.Fatalf("secret value %q survived in %s", leak, out)
			}
		}
	})
}

// unredacted returns a value under a data or stringData key that is not
// the redaction mark.
func unredacted(v any) string {
	switch v := v.(type) {
	case map[string]any:
		for k, sub := range v {
			if k == "data" || k == "stringData" || k == "binaryData" {
				if m, ok := sub.(map[string]any); ok {
					for _, x := range m {
						if x != Redacted {
							return fmt.Sprint(x)
						}
					}
				} else if sub != nil && sub != Redacted {
					return fmt.Sprint(sub)
				}
				continue
			}
			if s := unredacted(sub); s != "" {
				return s
			}
		}
	case []any:
		for _, e := range v {
			if s := unredacted(e); s != "" {
				return s
			}
		}
	}
	return ""
}

func FuzzRequestInfo(f *testing.F) {
	f.Add("GET", "/api/v1/namespaces/default/pods/web/exec?command=sh")
	f.Add("DELETE", "/apis/apps/v1/namespaces//deployments/")
	f.Fuzz(func(t *testing.T, method, path string) {
		u, err := url.Parse(path)
		if err != nil {
			return
		}
		ri := requestInfo(method, u)
		summary(ri, method, u.Path, u.Query())
	})
}

func TestInspect(t *testing.T) {
	for _, tc := range []struct {
		body  string
		watch bool
		want  bodyInfo
	}{
		{`{"kind":"ConfigMapList","apiVersion":"v1","metadata":{},"items":[{"a":[1,{"b":"]"}]},{},{}]}`, false, bodyInfo{kind: "ConfigMapList", items: 3, counted: true}},
		{`{"kind":"Table","rows":[]}`, false, bodyInfo{kind: "Table", items: 0, counted: true}},
		{`{"kind":"Status","status":"Failure","message":"nope","reason":"Forbidden","code":403}`, false, bodyInfo{kind: "Status", message: "nope", reason: "Forbidden"}},
		{`{"kind":"PodList","items":[{"metadata":{"name":"a"}},{"metad`, false, bodyInfo{kind: "PodList"}},
		{"{\"type\":\"ADDED\",\"object\":{\"kind\":\"ConfigMap\"}}\n{\"type\":\"MODIFIED\",\"object\":{\"kind\":\"ConfigMap\"}}\n{\"type\":\"DEL", true, bodyInfo{kind: "ConfigMap", items: 2, counted: true}},
		{"not json", false, bodyInfo{}},
	} {
		if got := inspect([]byte(tc.body), tc.watch); got != tc.want {
			t.Errorf("%.40s: got %+v; want %+v", tc.body, got, tc.want)
		}
	}
}

func FuzzInspect(f *testing.F) {
	f.Add([]byte(`{"kind":"List","items":[{},{}]}`), false)
	f.Add([]byte("{\"type\":\"ADDED\",\"object\":{\"kind\":\"Pod\"}}\n"), true)
	f.Fuzz(func(t *testing.T, b []byte, watch bool) { inspect(b, watch) })
}
