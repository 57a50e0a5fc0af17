package main

import (
	"context"
	"time"

	"github.com/cccd-project/cccd/hsm/authority"
)

func init() { serveHooks = append(serveHooks, runPKIMaintenance) }

// runPKIMaintenance is the part of `cccd serve` that keeps the PKI on its ICAO 9303-12
// schedule: it publishes CRLs when one is due (at least every 90 days, never more often
// than every 48 hours, within 48 hours of a revocation) and destroys the keys of retired
// Document Signers, once an hour. Without a configured key store it logs why and waits
// for the next round.
func runPKIMaintenance(ctx context.Context, env *serveEnv) error {
	for {
		func() {
			ks, _, closeKS, err := openKeyStore(ctx)
			if err != nil {
				env.log.Info("cccd serve: PKI maintenance skipped: no key store", "err", err)
				return
			}
			defer closeKS()
			a, err := authority.New(env.db, ks, pkiConfig())
			if err != nil {
				env.log.Warn("cccd serve: PKI maintenance", "err", err)
				return
			}
			if crls, err := a.PublishCRLs(ctx, false); err != nil {
				env.log.Warn("cccd serve: CRL publication", "err", err)
			} else if len(crls) > 0 {
				env.log.Info("cccd serve: CRLs published", "count", len(crls))
			}
			if n, err := a.RetireDocumentSigners(ctx); err != nil {
				env.log.Warn("cccd serve: DS retirement", "err", err)
			} else if n > 0 {
				env.log.Info("cccd serve: retired Document Signer keys destroyed", "count", n)
			}
		}()
		select {
		case <-ctx.Done():
			return nil
		case <-time.After(time.Hour):
		}
	}
}
