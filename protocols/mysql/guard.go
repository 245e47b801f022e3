package mysql

import (
	"strings"

	"github.com/pingcap/tidb/pkg/parser"
	"github.com/pingcap/tidb/pkg/parser/ast"
	_ "github.com/pingcap/tidb/pkg/parser/test_driver" // the parser's value expressions
)

// statementInfo is what the broker must know about a statement before it
// forwards it.
type statementInfo struct {
	// TouchesIdentity: the statement may assign one of the identity variables
	// (@hoop_*); the broker's policy refuses it.
	TouchesIdentity bool
	// Kill is a KILL [CONNECTION | QUERY] <thread id>, to be mapped to the
	// upstream's thread id.
	Kill *killRequest
	// LocalInfile: LOAD DATA LOCAL INFILE, which sends a client file upstream.
	LocalInfile bool
	// Refuse is set for forms the broker will not relay, with the reason.
	Refuse string
}

// killRequest is a parsed KILL statement.
type killRequest struct {
	Query bool // KILL QUERY: the running statement only
	ID    uint64
}

// guard classifies statements with the TiDB parser, and with the lexer where
// the parser gives up. It is used by one connection at a time.
type guard struct {
	p *parser.Parser
}

// maxDepth bounds the recursion into dynamic SQL (PREPARE ... FROM 'text').
const maxDepth = 3

// analyze classifies sql, which may hold several statements.
func (g *guard) analyze(sql string) statementInfo {
	return g.analyzeDepth(sql, 0)
}

// quick reports whether sql can hold nothing analyze looks for: no user
// variable, no KILL, no LOAD ... LOCAL, no EXECUTE IMMEDIATE. Most statements
// are decided here without parsing.
func quick(sql string) bool {
	return !strings.Contains(sql, "@") && !containsFold(sql, "kill") && !containsFold(sql, "local") && !containsFold(sql, "immediate")
}

func (g *guard) analyzeDepth(sql string, depth int) statementInfo {
	if quick(sql) {
		return statementInfo{}
	}
	if depth > maxDepth {
		return statementInfo{TouchesIdentity: true}
	}
	mentions := len(identityMention.FindAllStringIndex(sql, -1))
	if g.p == nil {
		g.p = parser.New()
	}
	stmts, _, err := g.p.Parse(sql, "", "")
	if err != nil {
		return g.fallback(sql, mentions, depth)
	}
	v := visitor{assigned: map[*ast.VariableExpr]bool{}}
	for _, s := range stmts {
		s.Accept(&v)
	}
	info := statementInfo{
		TouchesIdentity: mentions > v.reads || v.dynamic,
		LocalInfile:     v.local,
	}
	switch {
	case len(v.kills) > 0 && len(stmts) > 1:
		info.Refuse = "send KILL as a statement of its own, not in a multi-statement batch"
	case len(v.kills) > 0:
		k := v.kills[0]
		if k.Expr != nil || k.TiDBExtension {
			info.Refuse = "unsupported KILL form: use KILL [CONNECTION | QUERY] <thread id>"
		} else {
			info.Kill = &killRequest{Query: k.Query, ID: k.ConnectionID}
		}
	}
	for _, text := range v.prepared {
		g.merge(&info, g.analyzeDepth(text, depth+1))
	}
	return info
}

// merge folds what a statement prepares by SQL (PREPARE s FROM '...') into
// the statement's own classification.
func (g *guard) merge(info *statementInfo, sub statementInfo) {
	info.TouchesIdentity = info.TouchesIdentity || sub.TouchesIdentity
	info.LocalInfile = info.LocalInfile || sub.LocalInfile
	if sub.Kill != nil || sub.Refuse != "" {
		info.Refuse = "KILL cannot be prepared through the broker: send it as a statement of its own"
	}
}

// fallback classifies a statement the parser does not understand, leaning to
// refusal: any mention of an identity variable counts as an assignment.
func (g *guard) fallback(sql string, mentions, depth int) statementInfo {
	info := statementInfo{TouchesIdentity: mentions > 0}
	for _, toks := range lexStatements(sql, 8) {
		switch {
		case isWord(toks, 0, "KILL"):
			info.Refuse = "unsupported KILL form: use KILL [CONNECTION | QUERY] <thread id>"
		case isWord(toks, 0, "LOAD") && (isWord(toks, 1, "DATA") || isWord(toks, 1, "XML")):
			for _, t := range toks[2:] {
				if t.Word == "LOCAL" {
					info.LocalInfile = true
				}
			}
		case isWord(toks, 0, "EXECUTE") && isWord(toks, 1, "IMMEDIATE"):
			if len(toks) == 3 && toks[2].IsLit {
				g.merge(&info, g.analyzeDepth(toks[2].Literal, depth+1))
			} else {
				// Dynamic SQL built at run time: what it assigns can't be known.
				info.TouchesIdentity = true
			}
		}
	}
	return info
}

func isWord(toks []token, i int, w string) bool { return i < len(toks) && toks[i].Word == w }

// visitor walks parsed statements.
type visitor struct {
	reads    int // plain reads of identity variables
	assigned map[*ast.VariableExpr]bool
	dynamic  bool // PREPARE ... FROM @variable
	local    bool
	kills    []*ast.KillStmt
	prepared []string
}

func isIdentityVar(name string) bool {
	return len(name) >= 5 && strings.EqualFold(name[:5], "hoop_")
}

func (v *visitor) Enter(n ast.Node) (ast.Node, bool) {
	switch n := n.(type) {
	case *ast.VariableExpr:
		// A read counts when nothing assigns it: not @v := x, not a LOAD DATA
		// target (a LOAD DATA ... (@v) assigns it per row).
		if !n.IsSystem && n.Value == nil && !v.assigned[n] && isIdentityVar(n.Name) {
			v.reads++
		}
	case *ast.LoadDataStmt:
		if n.FileLocRef == ast.FileLocClient {
			v.local = true
		}
		for _, cu := range n.ColumnsAndUserVars {
			if cu != nil && cu.UserVar != nil {
				v.assigned[cu.UserVar] = true
			}
		}
	case *ast.PrepareStmt:
		if n.SQLVar != nil {
			v.dynamic = true
		} else {
			v.prepared = append(v.prepared, n.SQLText)
		}
	case *ast.KillStmt:
		v.kills = append(v.kills, n)
	}
	return n, false
}

func (v *visitor) Leave(n ast.Node) (ast.Node, bool) { return n, true }
