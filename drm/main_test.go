package drm

import (
	"os"
	"testing"

	"github.com/igrid/igrid/drm/store/pgtest"
	"golang.org/x/crypto/bcrypt"
)

func TestMain(m *testing.M) {
	bcryptCost = bcrypt.MinCost // hashing speed is not under test
	if os.Getenv(childEnv) != "" {
		os.Exit(childMain()) // the test binary re-executed as a DRM process
	}
	pgtest.Main(m)
}
