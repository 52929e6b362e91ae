package policies

import (
	"path"
	"sort"
	"strings"
)

// ClassesFor returns the classes a grid user falls in, sorted: those whose
// users list matches user, whose groups list meets groups, or whose vo
// list matches vo. Entries may be globs ("guest-*").
func (s *Set) ClassesFor(user string, groups []string, vo string) []string {
	var out []string
	for _, name := range s.Names() {
		c := s.classes[name]
		if anyMatch(c.Users, user) || anyMatch(c.VO, vo) || anyGroup(c.Groups, groups) {
			out = append(out, name)
		}
	}
	return out
}

func anyMatch(pats []string, s string) bool {
	if s == "" {
		return false
	}
	for _, p := range pats {
		if ok, _ := path.Match(p, s); ok {
			return true
		}
	}
	return false
}

func anyGroup(pats, groups []string) bool {
	for _, g := range groups {
		if anyMatch(pats, g) {
			return true
		}
	}
	return false
}

// Combine returns the merged class of a user with several roles: a virtual
// class named "a+b" that inherits every named class, so the merge rules are
// the same as for several parents (lists add up, deny beats allow, limits by
// their per-attribute rule). Its account pool is the first named class's.
// One name returns that class itself.
func (s *Set) Combine(names ...string) (*Class, error) {
	if len(names) == 0 {
		return nil, ErrNoClass
	}
	for _, n := range names {
		if _, ok := s.classes[n]; !ok {
			return nil, &UnknownClassError{Class: n}
		}
	}
	if len(names) == 1 {
		return s.classes[names[0]], nil
	}
	key := strings.Join(names, "\x00")
	if c, ok := s.combos.Load(key); ok {
		return c.(*Class), nil
	}
	name := strings.Join(names, "+")
	f := newFile("(" + name + ")")
	f.vals["class"] = val{s: name}
	for _, n := range names {
		f.lists["inherits"] = append(f.lists["inherits"], item{v: n})
	}
	files := make(map[string]*file, len(s.files)+1)
	for k, v := range s.files {
		files[k] = v
	}
	files[name] = f
	own := make(map[string]*classIndex, len(s.own)+1)
	for k, v := range s.own {
		own[k] = v
	}
	own[name] = &classIndex{allow: map[string]*actIndex{}, deny: map[string]*actIndex{}}
	c, probs := newMerger(files).class(name, own)
	if len(probs) > 0 {
		return nil, &LoadError{Problems: probs}
	}
	c.AccountPool = s.classes[names[0]].AccountPool
	v, _ := s.combos.LoadOrStore(key, c)
	return v.(*Class), nil
}

// ForUser maps a user to classes and returns their merged class.
func (s *Set) ForUser(user string, groups []string, vo string) (*Class, error) {
	names := s.ClassesFor(user, groups, vo)
	if len(names) == 0 {
		return nil, &UnmappedUserError{User: user}
	}
	sort.Strings(names)
	return s.Combine(names...)
}
