package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strconv"

	"github.com/igrid/igrid/drm/client"
	"github.com/igrid/igrid/internal/devgrid"
	"github.com/spf13/cobra"
)

// credentials are what `igrid login` saves.
type credentials struct {
	API   string `json:"api"`
	User  string `json:"user"`
	Token string `json:"token"`
}

func credsPath() string {
	dir, err := os.UserConfigDir()
	if err != nil {
		dir = "."
	}
	return filepath.Join(dir, "igrid", "credentials.json")
}

func saveCreds(c credentials) error {
	p := credsPath()
	if err := os.MkdirAll(filepath.Dir(p), 0o700); err != nil {
		return err
	}
	b, _ := json.MarshalIndent(c, "", "  ")
	return os.WriteFile(p, b, 0o600)
}

// apiClient picks the API and token in this order: flags, $IGRID_API and
// $IGRID_TOKEN, the saved login, then ./.igrid-dev/dev.json (the demo user of
// a local `igrid dev`).
func apiClient(cmd *cobra.Command) (*client.Client, error) {
	api, _ := cmd.Flags().GetString("api")
	tok, _ := cmd.Flags().GetString("token")
	sources := []credentials{{API: os.Getenv("IGRID_API"), Token: os.Getenv("IGRID_TOKEN")}}
	if b, err := os.ReadFile(credsPath()); err == nil {
		var c credentials
		if json.Unmarshal(b, &c) == nil {
			sources = append(sources, c)
		}
	}
	if in, err := devgrid.ReadInfo(devgrid.Default().DataDir); err == nil {
		sources = append(sources, credentials{API: in.APIURL, Token: in.Token})
	}
	for _, s := range sources {
		if api == "" && s.API != "" {
			api = s.API
			if tok == "" {
				tok = s.Token
			}
		}
	}
	if api == "" {
		return nil, errors.New("no grid API known: run `igrid login --api URL`, set IGRID_API, or start `igrid dev` here")
	}
	return client.New(api, tok), nil
}

func hostOf(addr string) string {
	h, _, err := net.SplitHostPort(addr)
	if err != nil {
		return "127.0.0.1"
	}
	return h
}

func portOf(addr string) int {
	_, p, err := net.SplitHostPort(addr)
	if err != nil {
		return -1
	}
	n, err := strconv.Atoi(p)
	if err != nil {
		return -1
	}
	if n == 0 {
		return -1
	}
	return n
}

func loginCmd() *cobra.Command {
	var user, password string
	cmd := &cobra.Command{
		Use:   "login",
		Short: "Log in to a grid and save the token for later commands",
		RunE: func(cmd *cobra.Command, _ []string) error {
			api, _ := cmd.Flags().GetString("api")
			if api == "" {
				api = os.Getenv("IGRID_API")
			}
			if api == "" {
				return errors.New("--api URL is required (e.g. http://127.0.0.1:8080/api/v1)")
			}
			if password == "" {
				password = os.Getenv("IGRID_PASSWORD")
			}
			tok, err := client.New(api, "").Login(cmd.Context(), user, password)
			if err != nil {
				return err
			}
			if err := saveCreds(credentials{API: api, User: user, Token: tok}); err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "logged in as %s; token saved in %s\n", user, credsPath())
			return nil
		},
	}
	cmd.Flags().StringVar(&user, "user", "", "grid user name")
	cmd.Flags().StringVar(&password, "password", "", "password (default $IGRID_PASSWORD)")
	cmd.MarkFlagRequired("user")
	return cmd
}
