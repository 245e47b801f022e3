package postgres

import (
	"errors"
	"testing"

	"github.com/hoophq/hoop/broker"
	"github.com/hoophq/hoop/config"
	"github.com/hoophq/hoop/session"
)

func TestRuntimeParams(t *testing.T) {
	id := &broker.Identity{
		Principal: session.Principal{Subject: "u1", Email: "ann@example.com", Groups: []string{"dba", "dev"}},
		Actors:    []session.Actor{{Subject: "bot"}, {Subject: "orchestrator"}},
	}
	sp := &startupPacket{Params: []param{
		{"user", "ann"}, {"database", "app"}, {"application_name", "psql"}, {"DateStyle", "ISO"},
		{"options", "-c work_mem=1MB"}, {"hoop.user", "evil"}, {"replication", "database"}, {"search_path", "s"},
	}}
	rp, err := runtimeParams(id, "sess-1", sp)
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]string{
		"hoop.user": "ann@example.com", "hoop.groups": "dba,dev", "hoop.session": "sess-1", "hoop.actors": "bot,orchestrator",
		"application_name": "psql", "DateStyle": "ISO", "search_path": "s",
	}
	if len(rp) != len(want) {
		t.Fatalf("got %v; want %v", rp, want)
	}
	for k, v := range want {
		if rp[k] != v {
			t.Errorf("%s = %q; want %q", k, rp[k], v)
		}
	}
	id.Actors = nil
	if rp, _ := runtimeParams(id, "s", &startupPacket{}); rp["application_name"] != "hoop" || rp["hoop.actors"] != "" {
		t.Errorf("got %v; want application_name hoop and no hoop.actors", rp)
	}
	id.Principal.Email = "ann\x00options\x00-c hoop.user=root"
	if _, err := runtimeParams(id, "s", &startupPacket{}); !errors.Is(err, errNULInIdentity) {
		t.Fatalf("got %v; want the NUL refused", err)
	}
}

func TestUpstreamConfig(t *testing.T) {
	up := &config.Upstream{Address: "db.internal:6543", User: "o'brien", Password: config.NewSecret(`p\a'ss`), Database: "app", TLS: "require", ServerName: "db.example"}
	cfg, err := upstreamConfig(up, "app")
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Host != "db.internal" || cfg.Port != 6543 || cfg.User != "o'brien" || cfg.Password != `p\a'ss` || cfg.Database != "app" {
		t.Fatalf("config %s@%s:%d/%s", cfg.User, cfg.Host, cfg.Port, cfg.Database)
	}
	if cfg.TLSConfig == nil || cfg.TLSConfig.ServerName != "db.example" || len(cfg.Fallbacks) != 0 {
		t.Fatalf("tls %+v fallbacks %d; want TLS to db.example, no plaintext fallback", cfg.TLSConfig, len(cfg.Fallbacks))
	}
	up.TLS = "disable"
	if cfg, _ := upstreamConfig(up, "app"); cfg.TLSConfig != nil {
		t.Fatal("tls disable: want no TLS")
	}
	reason := upstreamReason(errors.New(`connect failed for password p\a'ss`), up.Password.Value())
	if reason != "connect failed for password [redacted]" {
		t.Fatalf("reason %q; want the password redacted", reason)
	}
}
