// Command kubeletstub is test-harness scaffolding, not product code: the
// kubelet endpoint of a fake Node, so that kubectl exec, attach, logs and
// port-forward reach something real through a real API server. It serves,
// over TLS, the kubelet paths the API server proxies to:
//
//	/exec/NS/POD/CONTAINER        runs the command here, in a pty with tty=1
//	/attach/NS/POD/CONTAINER      attaches to a new shell in a pty
//	/portForward/NS/POD           connects to 127.0.0.1:PORT
//	/containerLogs/NS/POD/CTR     the pod's log; follow=true streams new lines
//	POST /control/log?pod=POD     appends the request body to the pod's log
//
// exec, attach and port-forward are k8s.io/cri-streaming's servers (SPDY and
// WebSocket). Usage: kubeletstub -listen 127.0.0.1:PORT -cert C -key K
package main

import (
	"flag"
	"fmt"
	"log"
	"net/http"
	"os"
	"strings"
	"time"

	"k8s.io/cri-streaming/pkg/streaming/portforward"
	"k8s.io/cri-streaming/pkg/streaming/remotecommand"
)

const (
	idleTimeout           = 4 * time.Hour
	streamCreationTimeout = 30 * time.Second
)

func main() {
	listen := flag.String("listen", "127.0.0.1:10250", "address")
	cert := flag.String("cert", "", "TLS certificate")
	key := flag.String("key", "", "TLS key")
	flag.Parse()
	logs := newLogs()
	mux := http.NewServeMux()
	rt := runtime{}
	mux.HandleFunc("/exec/{ns}/{pod}/{container}", func(w http.ResponseWriter, r *http.Request) {
		opts, err := remotecommand.NewOptions(r)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		remotecommand.ServeExec(w, r, rt, r.PathValue("pod"), "", r.PathValue("container"), r.URL.Query()["command"],
			opts, idleTimeout, streamCreationTimeout, remotecommand.SupportedStreamingProtocols)
	})
	mux.HandleFunc("/attach/{ns}/{pod}/{container}", func(w http.ResponseWriter, r *http.Request) {
		opts, err := remotecommand.NewOptions(r)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		remotecommand.ServeAttach(w, r, rt, r.PathValue("pod"), "", r.PathValue("container"),
			opts, idleTimeout, streamCreationTimeout, remotecommand.SupportedStreamingProtocols)
	})
	mux.HandleFunc("/portForward/{ns}/{pod}", func(w http.ResponseWriter, r *http.Request) {
		opts, err := portforward.NewV4Options(r)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		portforward.ServePortForward(w, r, rt, r.PathValue("pod"), "", opts, idleTimeout, streamCreationTimeout, portforward.SupportedProtocols)
	})
	mux.HandleFunc("GET /containerLogs/{ns}/{pod}/{container}", func(w http.ResponseWriter, r *http.Request) {
		logs.serve(w, r, r.PathValue("pod"), r.URL.Query().Get("follow") == "true")
	})
	mux.HandleFunc("POST /control/log", func(w http.ResponseWriter, r *http.Request) {
		var b strings.Builder
		fmt.Fprint(&b, r.FormValue("line"))
		logs.append(r.URL.Query().Get("pod"), b.String()+"\n")
	})
	srv := &http.Server{Addr: *listen, Handler: mux, ErrorLog: log.New(os.Stderr, "kubeletstub: ", 0)}
	fmt.Fprintln(os.Stderr, "kubeletstub listening on", *listen)
	if err := srv.ListenAndServeTLS(*cert, *key); err != nil {
		fmt.Fprintln(os.Stderr, "kubeletstub:", err)
		os.Exit(1)
	}
}
