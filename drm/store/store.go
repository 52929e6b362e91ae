package store

import (
	"context"
	"time"

	"github.com/igrid/igrid/internal/proto"
)

// Store is the DRM's persistent state. Implementations must be safe for
// concurrent use and must make Reserve and Transition atomic: two callers
// can never both win the same capacity or both apply the same change.
type Store interface {
	// Close releases the database.
	Close() error

	// CreateUser inserts u with its SSH keys; ErrExists if the name is taken.
	CreateUser(ctx context.Context, u User) error
	// User returns the user called name with its keys; ErrNotFound if none.
	User(ctx context.Context, name string) (User, error)
	// AddSSHKey appends an authorized_keys line to user's keys. Adding a key
	// the user already has is not an error. ErrNotFound if no such user.
	AddSSHKey(ctx context.Context, user, key string) error

	// CreateToken stores an API token by the hash of its secret.
	CreateToken(ctx context.Context, t Token) error
	// TokenUser returns the user of the token whose hash is hash, if it has
	// not expired at now; ErrNotFound otherwise.
	TokenUser(ctx context.Context, hash string, now time.Time) (string, error)

	// UpsertNode records a node's static info, SSH endpoint and last beat.
	UpsertNode(ctx context.Context, n Node) error
	// Nodes lists every node ever registered, by name.
	Nodes(ctx context.Context) ([]Node, error)

	// InsertSession writes s as it is, without any capacity check. The
	// scheduler uses it for sessions that hold no capacity (denied).
	// ErrExists if the id is taken.
	InsertSession(ctx context.Context, s Session) error
	// Reserve is admission and reservation in one transaction: it tries the
	// candidates in order, sums the capacity held on each by sessions whose
	// window overlaps s's, asks admit whether s's demand fits beside it, and
	// inserts s in state scheduled on the first node that fits. It returns
	// that node's name, or a *ReserveError listing every candidate's reason.
	Reserve(ctx context.Context, s Session, candidates []Candidate, admit Admitter) (string, error)
	// Reserved sums, per node, the capacity held by sessions whose window
	// overlaps [from, to).
	Reserved(ctx context.Context, from, to time.Time) (map[string]Capacity, error)
	// Session returns one session; ErrNotFound if none.
	Session(ctx context.Context, id string) (Session, error)
	// Sessions lists the sessions matching f, oldest first.
	Sessions(ctx context.Context, f SessionFilter) ([]Session, error)
	// Transition moves session id from state from to c.To, compare-and-set:
	// it fails with a *TransitionError wrapping ErrBadTransition when the
	// state machine forbids it, or ErrStateChanged when the session is no
	// longer in from. It returns the session as changed.
	Transition(ctx context.Context, id string, from proto.State, c Change) (Session, error)
	// CountSessions counts sessions per state.
	CountSessions(ctx context.Context) (map[proto.State]int, error)

	// Book is Reserve with the user's and class's quotas checked in the
	// same transaction, and the state of r.Session kept (scheduled, or
	// queued for a window the scheduler moved later). It returns the node,
	// a *QuotaError when a quota refuses, or a *ReserveError.
	Book(ctx context.Context, r BookRequest) (string, error)
	// BookEarliest books r.Session at the earliest start, at or after its
	// Start and not after last, at which its whole window fits on one of
	// the candidates (earlier candidates win ties), in one transaction
	// that holds the candidates' books still: state queued when the start
	// moved later, else scheduled. It returns the session as stored, a
	// *QuotaError, or a *ReserveError when no candidate has such a window.
	BookEarliest(ctx context.Context, r BookRequest, last time.Time) (Session, error)
	// Bookings lists the sessions holding capacity in [from, to) on every
	// node, or on the nodes named when nodes is not empty.
	Bookings(ctx context.Context, from, to time.Time, nodes ...string) ([]Booking, error)
	// BookChanges feeds a copy of the book kept in memory (the
	// scheduler's). With cursor 0 it returns every session holding
	// capacity that ends after since; with a cursor an earlier call
	// returned, every session written since that call read — in any
	// state: one no longer Holding tells the copy to drop it — and maybe
	// some it returned before. The cursor returned is for the next call.
	BookChanges(ctx context.Context, cursor int64, since time.Time) ([]Booking, int64, error)
	// Extend moves the end of booked session id to end in one transaction:
	// the added window must fit beside the node's other holders (admit,
	// against node's capacity) and the quota's maximum usage time.
	Extend(ctx context.Context, id string, end time.Time, node Candidate, admit Admitter, q Quota) (Session, error)

	// Move places booked session id, now in state from, on the first of
	// candidates whose capacity holds its window beside the other holders,
	// in state scheduled, in one transaction: the dispatcher's "next
	// candidate" when a node does not answer. The reason is recorded with
	// "{node}" replaced by the new node. *ReserveError when none fits.
	Move(ctx context.Context, id string, from proto.State, candidates []Candidate, admit Admitter, reason string) (string, error)

	// Profiles lists the application profiles by name.
	Profiles(ctx context.Context) ([]Profile, error)
	// SeedProfiles inserts the profiles not stored yet; stored ones keep
	// their measured values.
	SeedProfiles(ctx context.Context, ps []Profile) error
	// ObserveProfile folds one measured usage of an application into its
	// profile (exponentially weighted, weight ProfileAlpha), creating it when
	// missing. The application predictor calls it.
	ObserveProfile(ctx context.Context, app string, cpuPercent, bandwidthKbps float64, at time.Time) (Profile, error)
}

// User is a registered grid user.
type User struct {
	Name         string    `json:"name"`
	PasswordHash string    `json:"-"`
	Class        string    `json:"class"`
	Admin        bool      `json:"admin"`
	Created      time.Time `json:"created"`
	// SSHKeys are authorized_keys lines, in the order added.
	SSHKeys []string `json:"ssh_keys"`
}

// Token is an API token, stored by the hex SHA-256 of its secret.
type Token struct {
	Hash    string
	User    string
	Created time.Time
	Expires time.Time
}

// Node is a node's registration: static info and where users reach it.
type Node struct {
	Info     proto.NodeInfo
	LastSeen time.Time
	SSHHost  string
	SSHPort  int
}

// Session is a stored session: the API object plus what it reserves.
type Session struct {
	proto.Session
	Cores         int
	MemoryMB      int
	CPUPercent    int // estimated CPU share, percent of one core
	BandwidthKbps int // estimated network bandwidth
	Created       time.Time
	Updated       time.Time
	// Trace is the scheduler's decision trace (JSON), stored with the
	// session for GET /sessions/{id}?explain=1.
	Trace []byte
}

// Demand is what s holds on its node while booked: one session slot and
// its resources.
func (s Session) Demand() Capacity {
	return Capacity{Cores: s.Cores, MemoryMB: s.MemoryMB, CPUPercent: s.CPUPercent,
		BandwidthKbps: s.BandwidthKbps, Sessions: 1}
}

// SessionFilter selects sessions; zero fields match everything.
type SessionFilter struct {
	User   string
	States []proto.State
	// Latest, when set, keeps only the latest that many sessions by
	// start (still listed oldest first).
	Latest int
	// StartBy, when set, keeps only sessions whose window starts at or
	// before it (the dispatcher's due work).
	StartBy time.Time
}

// Change is what a Transition writes besides the new state. Empty strings
// and nil pointers leave the stored value as it is.
type Change struct {
	To      proto.State
	Reason  string
	Account string
	Connect *proto.Connect
	Usage   *proto.Usage
}

// Capacity is an amount of the resources admission counts. As a node's
// capacity, a zero BandwidthKbps or Sessions means "not limited".
type Capacity struct {
	Cores         int `json:"cores"`
	MemoryMB      int `json:"memory_mb"`
	CPUPercent    int `json:"cpu_percent"`
	BandwidthKbps int `json:"bandwidth_kbps"`
	Sessions      int `json:"sessions"` // session slots
}

// Add returns c + d.
func (c Capacity) Add(d Capacity) Capacity {
	return Capacity{c.Cores + d.Cores, c.MemoryMB + d.MemoryMB, c.CPUPercent + d.CPUPercent,
		c.BandwidthKbps + d.BandwidthKbps, c.Sessions + d.Sessions}
}

// Sub returns c - d.
func (c Capacity) Sub(d Capacity) Capacity {
	return Capacity{c.Cores - d.Cores, c.MemoryMB - d.MemoryMB, c.CPUPercent - d.CPUPercent,
		c.BandwidthKbps - d.BandwidthKbps, c.Sessions - d.Sessions}
}

// Max returns the larger of c and d in each resource.
func (c Capacity) Max(d Capacity) Capacity {
	return Capacity{max(c.Cores, d.Cores), max(c.MemoryMB, d.MemoryMB), max(c.CPUPercent, d.CPUPercent),
		max(c.BandwidthKbps, d.BandwidthKbps), max(c.Sessions, d.Sessions)}
}

// Booking is one session holding capacity on a node in a window.
type Booking struct {
	ID, Node, User, Class string
	State                 proto.State
	Start, End            time.Time
	Capacity              Capacity
}

// BookRequest is a Book call: the session (state scheduled or queued),
// the candidate nodes best first, the admission check and the quotas.
type BookRequest struct {
	Session    Session
	Candidates []Candidate
	Admit      Admitter
	Quota      Quota
	Now        time.Time
	// Prepare, when set, is called inside the transaction just before
	// the row is written, with the session as it will be stored (node and
	// window chosen) and the candidates refused before it, so the caller
	// can complete it (the decision trace, the reason). The JSON columns
	// (template, connect, usage) may be encoded before: Prepare must not
	// change them.
	Prepare func(s *Session, refused []Rejection)
}

// Profile is an application class's estimated resource use.
type Profile struct {
	App           string    `json:"app"`
	CPUPercent    float64   `json:"cpu_percent"`
	BandwidthKbps float64   `json:"bandwidth_kbps"`
	Samples       int       `json:"samples"`
	Updated       time.Time `json:"updated"`
}

// ProfileAlpha is the weight of a new measurement in ObserveProfile.
const ProfileAlpha = 0.2

// Candidate is a node Reserve may place a session on, with its total
// capacity.
type Candidate struct {
	Node     string
	Capacity Capacity
}

// Admitter decides whether demand fits on a candidate beside the capacity
// already reserved there in the session's window.
type Admitter interface {
	// Admit returns "" when demand fits, else the reason it does not.
	Admit(c Candidate, reserved, demand Capacity) string
}

// AllStates lists every session state, in lifecycle order.
var AllStates = []proto.State{
	proto.StateRequested, proto.StateQueued, proto.StateDenied, proto.StateScheduled,
	proto.StateStarting, proto.StateRunning, proto.StateEnding, proto.StateEnded,
	proto.StateFailed, proto.StateLost,
}

// Holding reports whether a session in state st holds capacity (see
// HoldingStates).
func Holding(st proto.State) bool { return st.Holds() || st == proto.StateQueued }

// HoldingStates are the states whose sessions hold capacity on their node:
// those of proto.State.Holds, and queued, whose session holds the later
// window the scheduler found for it.
func HoldingStates() []proto.State {
	var out []proto.State
	for _, s := range AllStates {
		if Holding(s) {
			out = append(out, s)
		}
	}
	return out
}
