package mysql

import "testing"

func TestAnalyze(t *testing.T) {
	for _, tc := range []struct {
		sql      string
		touches  bool
		local    bool
		kill     *killRequest
		refusing bool
	}{
		{sql: "SELECT 1"},
		{sql: "SELECT @hoop_user, @hoop_groups"},
		{sql: "SELECT * FROM t WHERE owner = @hoop_user"},
		{sql: "SET @a = @hoop_user"},
		{sql: "SELECT 'x@example.com'"},
		{sql: "SET @hoop_user = 'x'", touches: true},
		{sql: "set @HOOP_USER='x'", touches: true},
		{sql: "SET @`hoop_user` := 'x'", touches: true},
		{sql: "SET @'hoop_groups' = 'admin'", touches: true},
		{sql: "SELECT @hoop_user := 'x'", touches: true},
		{sql: "UPDATE t SET a = (@hoop_session := 3)", touches: true},
		{sql: "SELECT 1 INTO @hoop_user", touches: true},
		{sql: "SELECT a FROM t LIMIT 1 INTO @x, @hoop_actors", touches: true},
		{sql: "SELECT 1; SET @hoop_user = 2", touches: true},
		{sql: "/*M! SET @hoop_user = 1 */ SELECT 1", touches: true},
		{sql: "/*!50000 SET @hoop_user = 1 */", touches: true},
		{sql: "PREPARE s FROM 'SET @hoop_user = 1'", touches: true},
		{sql: "PREPARE s FROM 'SELECT 1'"},
		{sql: "PREPARE s FROM @q", touches: true},
		{sql: "EXECUTE IMMEDIATE 'SET @hoop_user = 1'", touches: true},
		{sql: "EXECUTE IMMEDIATE CONCAT('SET @ho', 'op_user = 1')", touches: true},
		{sql: "EXECUTE IMMEDIATE 'SELECT 1'"},
		{sql: "CREATE PROCEDURE p() BEGIN SET @hoop_user = 1; END", touches: true},
		{sql: "LOAD DATA LOCAL INFILE '/tmp/x' INTO TABLE t (a, @hoop_user)", touches: true, local: true},
		{sql: "LOAD DATA LOCAL INFILE '/tmp/x' INTO TABLE t", local: true},
		{sql: "load data low_priority local infile 'x' into table t", local: true},
		{sql: "LOAD XML LOCAL INFILE 'x' INTO TABLE t", local: true},
		{sql: "LOAD DATA INFILE '/tmp/x' INTO TABLE t"},
		{sql: "SELECT local FROM t"},
		{sql: "KILL QUERY 5", kill: &killRequest{Query: true, ID: 5}},
		{sql: "kill 7", kill: &killRequest{ID: 7}},
		{sql: "KILL CONNECTION 9", kill: &killRequest{ID: 9}},
		{sql: "KILL QUERY ID 5", refusing: true},
		{sql: "KILL USER app", refusing: true},
		{sql: "SELECT 1; KILL 5", refusing: true},
		{sql: "PREPARE s FROM 'KILL 5'", refusing: true},
		{sql: "SELECT kill_count FROM t"},
	} {
		var g guard
		got := g.analyze(tc.sql)
		if got.TouchesIdentity != tc.touches || got.LocalInfile != tc.local || (got.Refuse != "") != tc.refusing ||
			(got.Kill == nil) != (tc.kill == nil) || got.Kill != nil && *got.Kill != *tc.kill {
			t.Errorf("%q: got %+v (kill %v); want touches %v, local %v, kill %v, refusing %v",
				tc.sql, got, got.Kill, tc.touches, tc.local, tc.kill, tc.refusing)
		}
	}
}

func TestLexStatements(t *testing.T) {
	toks := lexStatements("/* c */ select 'a''b\\n' -- x\n, `q``x`; # y\n/*!40101 KILL */ 5", 8)
	if len(toks) != 2 {
		t.Fatalf("%d statements; want 2: %+v", len(toks), toks)
	}
	if toks[0][0].Word != "SELECT" || toks[0][1].Literal != "a'b\n" || toks[0][3].Word != "Q`X" {
		t.Errorf("first statement %+v", toks[0])
	}
	if toks[1][0].Word != "KILL" || toks[1][1].Word != "5" {
		t.Errorf("second statement %+v; want the executable comment's KILL", toks[1])
	}
}

// The quick path must never skip a statement the full analysis would catch.
func TestQuickIsConservative(t *testing.T) {
	for _, s := range []string{"SET @hoop_user=1", "KILL 1", "LOAD DATA LOCAL INFILE 'x' INTO TABLE t", "EXECUTE IMMEDIATE 'x'"} {
		if quick(s) {
			t.Errorf("quick(%q) = true; want the full analysis", s)
		}
	}
}
