package gmma

import "errors"

var (
	// ErrNoConfig is returned when a component lacks a required part.
	ErrNoConfig = errors.New("gmma: missing configuration")
	// ErrDuplicateSession is returned when a session is watched twice.
	ErrDuplicateSession = errors.New("gmma: session already watched")
	// ErrBadLevel is returned for an aggregator level other than cluster or grid.
	ErrBadLevel = errors.New("gmma: aggregator level must be cluster or grid")
)
