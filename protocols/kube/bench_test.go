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

	"github.com/hoophq/hoop/internal/brokertest"
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
	br := brokertest.Start(b, dir, kubeYAML(strings.TrimPrefix(up.URL, "https://"), ca, "example.com", "dev"))
	tok := br.Token(b, "bench", "dev")
	pem, _ := os.ReadFile(br.CA())
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(pem)
	c := &http.Client{Transport: &http.Transport{ForceAttemptHTTP2: true, TLSClientConfig: &tls.Config{RootCAs: pool}}}
	url := "https://" + br.Addr("k8s") + "/api/v1/namespaces/default/configmaps"
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
