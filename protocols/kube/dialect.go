package kube

import (
	"bytes"
	"crypto/tls"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	jsoniter "github.com/json-iterator/go"

	hoophttp "github.com/hoophq/hoop/protocols/http"
	"github.com/hoophq/hoop/session"
)

// Impersonation extras the broker sends (Impersonate-Extra-<key>).
const (
	ExtraSession = "hoop.dev/session"
	ExtraActors  = "hoop.dev/actors"
)

// dialect is the Kubernetes API's specialisation of the proxy.
type dialect struct {
	token  string // bearer token upstream; empty with a client certificate
	max    int
	tls    *tls.Config // the API server's CA pinned, the client certificate
	target *url.URL
	dialer *net.Dialer
}

var (
	_ hoophttp.Dialect  = (*dialect)(nil)
	_ hoophttp.Upgrader = (*dialect)(nil)
)

// Group joins the requests of one kubectl invocation (its Kubectl-Session
// header) into one session: the API calls, and the exec stream that kubectl
// opens on another connection.
func (*dialect) Group(r *http.Request) string {
	if v := r.Header.Get("Kubectl-Session"); v != "" && len(v) <= 64 {
		return "kubectl:" + v
	}
	return ""
}

// Reserved refuses client impersonation, the broker's own headers, and the
// front-proxy identity headers an API server may be set up to trust.
func (*dialect) Reserved(h http.Header) string {
	return hoophttp.ReservedPrefix(h, "Impersonate-", "X-Hoop-", "X-Remote-")
}

// Describe names the API call and redacts Secret values from the body.
func (d *dialect) Describe(r *http.Request, cmd *session.Command, complete bool) {
	ri := requestInfo(r.Method, r.URL)
	cmd.Type = "kube"
	cmd.HTTP.Kube = ri
	cmd.Text = summary(ri, r.Method, cmd.HTTP.Path, r.URL.Query())
	if body, ok := redactBody(ri, []byte(cmd.HTTP.Body), complete); ok {
		cmd.HTTP.Body = body
	} else {
		cmd.HTTP.Body = ""
		cmd.HTTP.BodyTruncated = true
	}
}

// Prepare authenticates the broker to the API server and impersonates the
// caller.
func (d *dialect) Prepare(s *hoophttp.Session, r *http.Request) error {
	if d.token != "" {
		r.Header.Set("Authorization", "Bearer "+d.token)
	}
	id := s.Identity()
	r.Header.Set("Impersonate-User", id.User())
	for _, g := range id.Principal.Groups {
		r.Header.Add("Impersonate-Group", g)
	}
	r.Header.Set(extraHeader(ExtraSession), s.ID())
	for _, a := range id.Actors {
		r.Header.Add(extraHeader(ExtraActors), a.Subject)
	}
	return nil
}

// extraHeader is the header of an impersonated extra: its key is
// percent-encoded where a header name can't hold it.
func extraHeader(key string) string {
	var b strings.Builder
	for i := 0; i < len(key); i++ {
		c := key[i]
		if c == '/' || c == '%' || c == ':' {
			fmt.Fprintf(&b, "%%%02X", c)
			continue
		}
		b.WriteByte(c)
	}
	return "Impersonate-Extra-" + b.String()
}

// Outcome reads the kind, item count and error of a response.
func (d *dialect) Outcome(cmd *session.Command, res *session.Result, body []byte, complete bool) {
	h := res.HTTP
	if h.Upgrade != "" {
		return // a relayed stream: its byte counts say it all
	}
	ri := cmd.HTTP.Kube
	info := inspect(body, ri != nil && ri.Verb == "watch")
	h.Kind = info.kind
	res.RowCount = int64(info.items)
	// A result keeps what the call did (status, kind, item count); the
	// objects themselves are the cluster's to keep. Errors keep their Status.
	switch {
	case h.Status < 400:
		h.Body, h.BodyTruncated = "", false
	case ri != nil:
		if red, ok := redactBody(ri, body, complete && !h.BodyTruncated); ok {
			h.Body = red
		} else {
			h.Body, h.BodyTruncated = "", true
		}
	}
	tag := strconv.Itoa(h.Status)
	if info.kind != "" {
		tag += " " + info.kind
	}
	if info.counted {
		noun := "items"
		if ri != nil && ri.Verb == "watch" {
			noun = "events"
		}
		tag += fmt.Sprintf(" (%d %s)", info.items, noun)
	}
	res.Tag = tag
	if h.Status >= 400 && res.Error == nil {
		msg := info.message
		if msg == "" {
			msg = http.StatusText(h.Status)
		}
		res.Error = &session.Error{Code: strconv.Itoa(h.Status), Message: msg, Detail: info.reason}
	}
}

// Error answers with a Kubernetes Status.
func (*dialect) Error(w http.ResponseWriter, code int, reason, msg string) {
	writeStatus(w, code, reason, msg)
}

// bodyInfo is what a result records of a response body.
type bodyInfo struct {
	kind            string
	items           int
	counted         bool
	message, reason string
}

// inspect reads the kind and the number of items (of a list or a Table) or of
// watch events, skipping over the objects themselves; a body cut by the cap
// yields what precedes the cut.
func inspect(body []byte, watch bool) bodyInfo {
	var info bodyInfo
	body = bytes.TrimSpace(body)
	if len(body) == 0 || body[0] != '{' {
		return info
	}
	it := jsoniter.ConfigFastest.BorrowIterator(body)
	defer jsoniter.ConfigFastest.ReturnIterator(it)
	for n := 0; it.WhatIsNext() == jsoniter.ObjectValue; n++ {
		var kind, objKind string
		it.ReadObjectCB(func(it *jsoniter.Iterator, field string) bool {
			switch {
			case field == "kind" && it.WhatIsNext() == jsoniter.StringValue:
				kind = it.ReadString()
			case field == "message" && it.WhatIsNext() == jsoniter.StringValue:
				info.message = it.ReadString()
			case field == "reason" && it.WhatIsNext() == jsoniter.StringValue:
				info.reason = it.ReadString()
			case (field == "items" || field == "rows") && !watch && it.WhatIsNext() == jsoniter.ArrayValue:
				items := 0
				it.ReadArrayCB(func(it *jsoniter.Iterator) bool { it.Skip(); items++; return it.Error == nil })
				if it.Error == nil {
					info.items, info.counted = items, true
				}
			case field == "object" && watch && it.WhatIsNext() == jsoniter.ObjectValue:
				it.ReadObjectCB(func(it *jsoniter.Iterator, f string) bool {
					if f == "kind" && it.WhatIsNext() == jsoniter.StringValue {
						objKind = it.ReadString()
					} else {
						it.Skip()
					}
					return it.Error == nil
				})
			default:
				it.Skip()
			}
			return it.Error == nil
		})
		if !watch {
			info.kind = kind
			return info
		}
		if it.Error != nil {
			return info // a watch event cut short is not counted
		}
		info.kind, info.items, info.counted = objKind, n+1, true
	}
	return info
}
