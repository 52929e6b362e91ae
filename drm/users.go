package drm

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/igrid/igrid/drm/store"
	"github.com/igrid/igrid/internal/proto"
	"golang.org/x/crypto/bcrypt"
	"golang.org/x/crypto/ssh"
)

// bcryptCost is the password hashing cost; tests lower it.
var bcryptCost = bcrypt.DefaultCost

// dummyHash is compared against when the user does not exist, so that a
// wrong name costs as much time as a wrong password.
var dummyHash = sync.OnceValue(func() []byte {
	h, _ := bcrypt.GenerateFromPassword([]byte("igrid-no-such-user"), bcryptCost)
	return h
})

// CreateUser registers a user. It is the bootstrap path (igrid dev creates
// demo and admin with it) and what POST /users calls after authorisation.
// Bad input is an *InputError; a taken name is ErrUserExists.
func (s *Server) CreateUser(ctx context.Context, name, password, class string, admin bool, sshKeys []string) error {
	if !proto.ValidName(name) {
		return &InputError{Field: "name", Message: fmt.Sprintf("%q is not a user name (letters, digits, '.', '_', '+', '-'; at most 128)", name)}
	}
	if len(password) < MinPasswordLen {
		return &InputError{Field: "password", Message: fmt.Sprintf("must be at least %d characters", MinPasswordLen)}
	}
	if len(password) > 72 {
		return &InputError{Field: "password", Message: "must be at most 72 bytes"}
	}
	if class == "" {
		class = s.cfg.DefaultClass
	}
	if _, ok := s.pol.Current().Class(class); !ok {
		return &InputError{Field: "class", Message: fmt.Sprintf("%v %q (known: %s)", ErrUnknownClass, class, strings.Join(s.pol.Current().Names(), ", "))}
	}
	keys := make([]string, 0, len(sshKeys))
	for i, k := range sshKeys {
		line, err := normalizeKey(k)
		if err != nil {
			return &InputError{Field: fmt.Sprintf("ssh_keys[%d]", i), Message: err.Error()}
		}
		keys = append(keys, line)
	}
	hash, err := bcrypt.GenerateFromPassword([]byte(password), bcryptCost)
	if err != nil {
		return fmt.Errorf("hash password: %w", err)
	}
	err = s.store.CreateUser(ctx, store.User{Name: name, PasswordHash: string(hash), Class: class,
		Admin: admin, Created: time.Now().UTC(), SSHKeys: keys})
	if errors.Is(err, store.ErrExists) {
		return fmt.Errorf("%w: %q", ErrUserExists, name)
	}
	return err
}

// normalizeKey parses one authorized_keys line and rewrites it as
// "type base64 [comment]", dropping any options.
func normalizeKey(line string) (string, error) {
	pk, comment, _, rest, err := ssh.ParseAuthorizedKey([]byte(line))
	if err != nil {
		return "", fmt.Errorf("not an SSH public key in authorized_keys format: %v", err)
	}
	if len(strings.TrimSpace(string(rest))) > 0 {
		return "", errors.New("one key per entry")
	}
	out := strings.TrimSpace(string(ssh.MarshalAuthorizedKey(pk)))
	if comment != "" {
		out += " " + comment
	}
	return out, nil
}

// IssueToken makes a new API token for user and returns its secret. Only
// the secret's SHA-256 is stored.
func (s *Server) IssueToken(ctx context.Context, user string) (string, error) {
	tok, _, err := s.issueToken(ctx, user)
	return tok, err
}

func (s *Server) issueToken(ctx context.Context, user string) (string, time.Time, error) {
	b := make([]byte, 32)
	rand.Read(b)
	tok := "igt_" + hex.EncodeToString(b)
	now := time.Now().UTC()
	exp := now.Add(TokenTTL)
	err := s.store.CreateToken(ctx, store.Token{Hash: hashToken(tok), User: user, Created: now, Expires: exp})
	if err != nil {
		return "", time.Time{}, fmt.Errorf("issue token for %q: %w", user, err)
	}
	return tok, exp, nil
}

func hashToken(tok string) string {
	h := sha256.Sum256([]byte(tok))
	return hex.EncodeToString(h[:])
}

// login checks a password and issues a token.
func (s *Server) login(ctx context.Context, name, password string) (string, time.Time, error) {
	u, err := s.store.User(ctx, name)
	if errors.Is(err, store.ErrNotFound) {
		bcrypt.CompareHashAndPassword(dummyHash(), []byte(password))
		return "", time.Time{}, ErrBadCredentials
	}
	if err != nil {
		return "", time.Time{}, err
	}
	if bcrypt.CompareHashAndPassword([]byte(u.PasswordHash), []byte(password)) != nil {
		return "", time.Time{}, ErrBadCredentials
	}
	return s.issueToken(ctx, name)
}

// authenticate resolves a token secret to its user.
func (s *Server) authenticate(ctx context.Context, tok string) (store.User, error) {
	name, err := s.store.TokenUser(ctx, hashToken(tok), time.Now().UTC())
	if err != nil {
		return store.User{}, err
	}
	return s.store.User(ctx, name)
}

// newSessionID returns "s-" and 12 random hex digits.
func newSessionID() string {
	b := make([]byte, 6)
	rand.Read(b)
	return "s-" + hex.EncodeToString(b)
}
