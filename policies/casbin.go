package policies

import (
	"fmt"
	"sort"

	"github.com/casbin/casbin/v2"
	"github.com/casbin/casbin/v2/model"
	defaultrolemanager "github.com/casbin/casbin/v2/rbac/default-role-manager"
)

// CasbinModel is the casbin model a set compiles to: subject = class,
// role inheritance through g (child, parent), deny-override effect, and
// igridMatch as the object matcher (the same function Decide uses).
const CasbinModel = `[request_definition]
r = sub, act, obj

[policy_definition]
p = sub, act, obj, eft, rule

[role_definition]
g = _, _

[policy_effect]
e = some(where (p.eft == allow)) && !some(where (p.eft == deny))

[matchers]
m = g(r.sub, p.sub) && r.act == p.act && igridMatch(r.act, r.obj, p.obj)
`

// maxDepth bounds the inheritance depth casbin's role manager follows.
const maxDepth = 64

// compileCasbin builds a casbin enforcer holding every class's own rules
// (p) and its parents (g).
func compileCasbin(files map[string]*file) (*casbin.Enforcer, error) {
	m, err := model.NewModelFromString(CasbinModel)
	if err != nil {
		return nil, err
	}
	e, err := casbin.NewEnforcer(m)
	if err != nil {
		return nil, err
	}
	e.SetRoleManager(defaultrolemanager.NewRoleManagerImpl(maxDepth))
	e.AddFunction("igridMatch", func(args ...any) (any, error) {
		if len(args) != 3 {
			return false, fmt.Errorf("igridMatch wants 3 arguments, got %d", len(args))
		}
		act, _ := args[0].(string)
		obj, _ := args[1].(string)
		pat, _ := args[2].(string)
		return objMatch(act, obj, pat), nil
	})
	names := make([]string, 0, len(files))
	for n := range files {
		names = append(names, n)
	}
	sort.Strings(names)
	var ps, gs [][]string
	for _, n := range names {
		f := files[n]
		for _, r := range ownRules(f) {
			ps = append(ps, []string{n, r.act, r.obj, r.eft, fmt.Sprintf("%s:%d %s", r.file, r.line, r.text())})
		}
		for _, p := range f.parents() {
			gs = append(gs, []string{n, p})
		}
	}
	if len(ps) > 0 {
		if _, err := e.AddPolicies(ps); err != nil {
			return nil, err
		}
	}
	if len(gs) > 0 {
		if _, err := e.AddGroupingPolicies(gs); err != nil {
			return nil, err
		}
	}
	return e, nil
}

// Enforcer returns the casbin enforcer the set compiles to (on first use:
// Decide does not need it, so a reload does not wait for it). It answers
// the same questions as Decide — tests hold them equal — but scans every
// policy line; use Decide on hot paths.
func (s *Set) Enforcer() (*casbin.Enforcer, error) {
	s.enfOnce.Do(func() { s.enf, s.enfErr = compileCasbin(s.files) })
	return s.enf, s.enfErr
}

// DecideCasbin asks the casbin enforcer directly; it returns the allow and
// the deciding policy line ("file:line key: item") as casbin explains it.
func (s *Set) DecideCasbin(class, act, obj string) (bool, string, error) {
	enf, err := s.Enforcer()
	if err != nil {
		return false, "", err
	}
	ok, explain, err := enf.EnforceEx(class, act, obj)
	rule := ""
	if len(explain) == 5 {
		rule = explain[4]
	}
	return ok, rule, err
}
