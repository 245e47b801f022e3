package kube_test

import (
	"crypto/tls"
	"crypto/x509"
	"encoding/pem"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// BenchmarkListThroughBroker measures the broker's own cost per API call:
// sequential GETs of a 20-item ConfigMap list, every one recorded, against a
// canned upstream (no API server), over HTTP/2 like kubectl.
func BenchmarkListThroughBroker(b *testing.B) {
	var items []string
	for i := range 20 {
		items = append(items, fmt.Sprintf(`{"metadata":{"name":"cm-%d","namespace":"default","uid":"u-%d","resourceVersion":"%d"},"data":{"key":"value %d"}}`, i, i, i, i))
	}
	list := `{"kind":"ConfigMapList","apiVersion":"v1","metadata":{"resourceVersion":"99"},"items":[` + strings.Join(items, ",") + `]}`
	up := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		io.WriteString(w, list)
	}))
	up.EnableHTTP2 = true
	up.StartTLS()
	defer up.Close()
	dir := b.TempDir()
	ca := filepath.Join(dir, "up.crt")
	os.WriteFile(ca, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: up.Certificate().Raw}), 0o644)
	os.WriteFile(filepath.Join(dir, "k8s.token"), []byte("sa-token\n"), 0o600)
	br := startBroker(b, dir, fmt.Sprintf(`broker:
  data_dir: data
admin:
  listen: 127.0.0.1:0
  tokens: ["${file:admin.token}"]
connections:
  - name: k8s
    protocol: kube
    listen: 127.0.0.1:0
    upstream:
      address: %s
      ca: %s
      server_name: example.com
    kube:
      token: ${file:k8s.token}
    access:
      groups: [dev]
`, strings.TrimPrefix(up.URL, "https://"), ca))
	tok := br.token("bench", "dev")
	pem, _ := os.ReadFile(br.ca())
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(pem)
	c := &http.Client{Transport: &http.Transport{ForceAttemptHTTP2: true, TLSClientConfig: &tls.Config{RootCAs: pool}}}
	url := "https://" + br.srv.Addr("k8s") + "/api/v1/namespaces/default/configmaps"
	get := func() {
		req, _ := http.NewRequest("GET", url, nil)
		req.Header.Set("Authorization", "Bearer "+tok)
		resp, err := c.Do(req)
		if err != nil {
			b.Fatal(err)
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 200 {
			b.Fatal(resp.Status)
		}
	}
	get()
	b.ReportAllocs()
	b.ResetTimer()
	for range b.N {
		get()
	}
}
