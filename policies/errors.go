package policies

import (
	"errors"
	"fmt"
	"strings"
)

// ErrInvalid wraps every problem found while loading a policy directory.
var ErrInvalid = errors.New("invalid policy set")

// Problem is one error in one policy file, located by line and key.
type Problem struct {
	File string
	Line int
	Key  string
	Msg  string
}

func (p Problem) String() string {
	loc := p.File
	if p.Line > 0 {
		loc = fmt.Sprintf("%s:%d", p.File, p.Line)
	}
	if p.Key != "" {
		return fmt.Sprintf("%s: %s: %s", loc, p.Key, p.Msg)
	}
	return fmt.Sprintf("%s: %s", loc, p.Msg)
}

// LoadError lists every problem of a rejected policy set.
type LoadError struct {
	Problems []Problem
}

func (e *LoadError) Error() string {
	lines := make([]string, len(e.Problems))
	for i, p := range e.Problems {
		lines[i] = p.String()
	}
	return strings.Join(lines, "\n")
}

// Unwrap lets callers test errors.Is(err, ErrInvalid).
func (e *LoadError) Unwrap() error { return ErrInvalid }

// ErrNoClass is returned when a call needs at least one class and got none.
var ErrNoClass = errors.New("policies: no class given")

// UnknownClassError names a class that the set does not define.
type UnknownClassError struct{ Class string }

func (e *UnknownClassError) Error() string { return fmt.Sprintf("policies: unknown class %q", e.Class) }

// UnmappedUserError says that no class's users/groups/vo rules match a user.
type UnmappedUserError struct{ User string }

func (e *UnmappedUserError) Error() string {
	return fmt.Sprintf("policies: user %q matches no class's users, groups or vo rules", e.User)
}
