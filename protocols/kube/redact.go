package kube

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"strings"

	"github.com/hoophq/hoop/session"
)

// Redacted replaces a Secret value in recordings.
const Redacted = "[redacted]"

// lastApplied is kubectl apply's annotation; on a Secret it repeats the data.
const lastApplied = "kubectl.kubernetes.io/last-applied-configuration"

// sensitive says whether a body may carry Secret values: any body of the
// secrets resource, and any body that mentions the Secret kind.
func sensitive(ri *session.KubeRequest, body []byte) bool {
	return ri.Resource == "secrets" || bytes.Contains(body, []byte(`"Secret"`))
}

// redactBody returns what may be recorded of a body: itself when it cannot
// hold Secret values; otherwise its JSON documents (an object, or a watch
// stream of them) with every Secret value redacted. A sensitive body that was
// cut by the cap, or is not JSON (protobuf, YAML), is not recorded at all:
// ok is false.
func redactBody(ri *session.KubeRequest, body []byte, complete bool) (out string, ok bool) {
	if len(body) == 0 || !sensitive(ri, body) {
		return string(body), true
	}
	if !complete {
		return "", false
	}
	docs, err := decodeAll(body)
	if err != nil || len(docs) == 0 {
		return "", false
	}
	var b strings.Builder
	for i, d := range docs {
		redactValue(d, ri.Resource == "secrets")
		enc, err := json.Marshal(d)
		if err != nil {
			return "", false
		}
		if i > 0 {
			b.WriteByte('\n')
		}
		b.Write(enc)
	}
	return b.String(), true
}

// decodeAll decodes a sequence of JSON documents.
func decodeAll(body []byte) ([]any, error) {
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	var docs []any
	for {
		var v any
		err := dec.Decode(&v)
		if errors.Is(err, io.EOF) {
			return docs, nil
		}
		if err != nil {
			return nil, err
		}
		docs = append(docs, v)
	}
}

// redactValue walks a decoded document and replaces, in place: the values of
// data and stringData maps, the value of JSON-patch operations on a secret
// (inSecrets), and the last-applied-configuration annotation. It errs on the
// side of hiding: a "data" map of a non-Secret object in a sensitive body is
// hidden too.
func redactValue(v any, inSecrets bool) {
	switch v := v.(type) {
	case map[string]any:
		for k, sub := range v {
			switch k {
			case "data", "stringData", "binaryData":
				v[k] = redactMap(sub)
				continue
			case "annotations":
				if m, ok := sub.(map[string]any); ok {
					if _, has := m[lastApplied]; has {
						m[lastApplied] = Redacted
					}
				}
			case "value":
				if _, isOp := v["op"]; isOp && inSecrets {
					v[k] = Redacted
					continue
				}
			}
			redactValue(sub, inSecrets)
		}
	case []any:
		for _, e := range v {
			redactValue(e, inSecrets)
		}
	}
}

// redactMap keeps the keys of a data map (they tell what is there) and hides
// the values.
func redactMap(v any) any {
	m, ok := v.(map[string]any)
	if !ok {
		if v == nil {
			return nil
		}
		return Redacted
	}
	out := make(map[string]any, len(m))
	for k := range m {
		out[k] = Redacted
	}
	return out
}
