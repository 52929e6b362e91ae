package main

import (
	"crypto/ed25519"
	"encoding/base64"
	"fmt"
	"os"

	"github.com/igrid/igrid/gish"
	"github.com/spf13/cobra"
	gossh "golang.org/x/crypto/ssh"
)

// signCmd is `igrid sign --key K FILE…`: detached FILE.sig signatures
// (ed25519 over SHA-256) that let GISH run user binaries (UbAM).
func signCmd() *cobra.Command {
	var keyPath string
	var pub bool
	cmd := &cobra.Command{
		Use:   "sign --key KEY FILE...",
		Short: "Sign user binaries for GISH (writes FILE.sig); --pub prints the key for a policy's trusted signers",
		RunE: func(cmd *cobra.Command, args []string) error {
			pem, err := os.ReadFile(keyPath)
			if err != nil {
				return fmt.Errorf("--key: %w", err)
			}
			key, err := gish.ParseSigningKey(pem)
			if err != nil {
				return fmt.Errorf("--key %s: %w", keyPath, err)
			}
			if pub {
				return printSigner(cmd, key)
			}
			if len(args) == 0 {
				return fmt.Errorf("name at least one FILE to sign")
			}
			for _, f := range args {
				sig, err := gish.SignFile(key, f)
				if err != nil {
					return err
				}
				fmt.Fprintln(cmd.OutOrStdout(), sig)
			}
			return nil
		},
	}
	cmd.Flags().StringVar(&keyPath, "key", "", "ed25519 private key (OpenSSH format, ssh-keygen -t ed25519)")
	cmd.Flags().BoolVar(&pub, "pub", false, "print the public key (authorized_keys line and base64) instead of signing")
	cmd.MarkFlagRequired("key")
	return cmd
}

func printSigner(cmd *cobra.Command, key ed25519.PrivateKey) error {
	pk := key.Public().(ed25519.PublicKey)
	sp, err := gossh.NewPublicKey(pk)
	if err != nil {
		return err
	}
	fmt.Fprint(cmd.OutOrStdout(), string(gossh.MarshalAuthorizedKey(sp)))
	fmt.Fprintln(cmd.OutOrStdout(), base64.StdEncoding.EncodeToString(pk))
	return nil
}
