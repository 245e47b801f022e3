package kube

import (
	"net/http"
	"net/url"
	"strings"

	"github.com/hoophq/hoop/session"
)

// requestInfo names the API call of a request as the API server's request-info
// resolver does (k8s.io/apiserver/pkg/endpoints/request): core /api/v1/...,
// groups /apis/GROUP/VERSION/..., namespaced or not, with a subresource;
// other paths (/version, /openapi, discovery) are non-resource requests with
// the HTTP verb in lower case.
func requestInfo(method string, u *url.URL) *session.KubeRequest {
	parts := splitPath(u.Path)
	ri := &session.KubeRequest{Verb: strings.ToLower(method)}
	switch {
	case len(parts) >= 2 && parts[0] == "api":
		ri.Version, parts = parts[1], parts[2:]
	case len(parts) >= 3 && parts[0] == "apis":
		ri.Group, ri.Version, parts = parts[1], parts[2], parts[3:]
	default:
		return ri // non-resource
	}
	watchPrefix := false
	if len(parts) > 0 && parts[0] == "watch" {
		watchPrefix, parts = true, parts[1:]
	}
	if len(parts) > 1 && parts[0] == "namespaces" {
		ri.Namespace = parts[1]
		// Past the namespace name comes a resource in it, unless it is a
		// subresource of the namespace itself.
		if len(parts) > 2 && parts[2] != "status" && parts[2] != "finalize" {
			parts = parts[2:]
		}
	}
	if len(parts) > 0 {
		ri.Resource = parts[0]
	}
	if len(parts) > 1 {
		ri.Name = parts[1]
	}
	if len(parts) > 2 {
		ri.Subresource = parts[2]
	}
	q := u.Query()
	switch method {
	case http.MethodGet, http.MethodHead:
		switch {
		case watchPrefix || q.Get("watch") == "true" || q.Get("watch") == "1":
			ri.Verb = "watch"
		case ri.Name == "":
			ri.Verb = "list"
		default:
			ri.Verb = "get"
		}
	case http.MethodPost:
		ri.Verb = "create"
	case http.MethodPut:
		ri.Verb = "update"
	case http.MethodPatch:
		ri.Verb = "patch"
	case http.MethodDelete:
		ri.Verb = "delete"
		if ri.Name == "" {
			ri.Verb = "deletecollection"
		}
	}
	switch ri.Subresource {
	case "exec", "attach", "portforward", "proxy":
		// Streams are authorized as create, whatever the method (GET for
		// WebSocket, POST for SPDY).
		ri.Verb = "create"
	}
	return ri
}

func splitPath(p string) []string {
	p = strings.Trim(p, "/")
	if p == "" {
		return nil
	}
	return strings.Split(p, "/")
}

// summary is how a command reads in a transcript, kubectl-like:
// "list configmaps -n default", "create pods/exec web -n default -- sh".
func summary(ri *session.KubeRequest, method, path string, q url.Values) string {
	if ri.Resource == "" {
		return method + " " + path
	}
	var b strings.Builder
	b.WriteString(ri.Verb)
	b.WriteByte(' ')
	res := ri.Resource
	if ri.Group != "" {
		res += "." + ri.Group
	}
	b.WriteString(res)
	if ri.Subresource != "" {
		b.WriteString("/" + ri.Subresource)
	}
	if ri.Name != "" {
		b.WriteString(" " + ri.Name)
	}
	if ri.Namespace != "" {
		b.WriteString(" -n " + ri.Namespace)
	}
	switch ri.Subresource {
	case "exec":
		if c := q["command"]; len(c) > 0 {
			b.WriteString(" -- " + strings.Join(c, " "))
		}
	case "portforward":
		if p := q["ports"]; len(p) > 0 {
			b.WriteString(" ports " + strings.Join(p, ","))
		}
	case "log":
		if q.Get("follow") == "true" {
			b.WriteString(" -f")
		}
	}
	return b.String()
}
