package trust

import (
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
)

// sourcesFile holds, beside csca/, where each trusted certificate came from.
const sourcesFile = "sources.json"

// Entry is a trusted CSCA or link certificate and where it came from.
type Entry struct {
	Cert   *x509.Certificate
	Source string // e.g. "add-csca DE_ROOT_CA_CSCA07.cer", "master list DE_ML_....ml"; "" when not recorded
	Link   bool   // a link certificate (ICAO 9303-12 §5.1.1), not a self-signed CSCA
}

// Entries returns the trusted certificates with their sources.
func (s *Store) Entries() []Entry {
	s.mu.RLock()
	defer s.mu.RUnlock()
	out := make([]Entry, 0, len(s.cscas))
	for _, c := range s.cscas {
		out = append(out, Entry{Cert: c, Source: s.sources[fileName(c.Raw, ".der")], Link: !isAnchor(c)})
	}
	return out
}

// AddCSCAFrom is AddCSCA recording where the certificate came from.
func (s *Store) AddCSCAFrom(c *x509.Certificate, source string) error {
	if err := s.AddCSCA(c); err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.setSourceLocked(c, source)
	return nil
}

func (s *Store) setSourceLocked(c *x509.Certificate, source string) {
	if k := fileName(c.Raw, ".der"); source != "" && s.sources[k] == "" {
		s.sources[k] = source
	}
}

func (s *Store) loadSources(fsys fs.FS) error {
	b, err := fs.ReadFile(fsys, sourcesFile)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("trust: %w", err)
	}
	var m map[string]string
	if err := json.Unmarshal(b, &m); err != nil {
		return fmt.Errorf("trust: %s: %w", sourcesFile, err)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, c := range s.cscas {
		if k := fileName(c.Raw, ".der"); m[k] != "" {
			s.sources[k] = m[k]
		}
	}
	return nil
}

func (s *Store) saveSourcesLocked(dir string) error {
	m := map[string]string{}
	for _, c := range s.cscas {
		if k := fileName(c.Raw, ".der"); s.sources[k] != "" {
			m[k] = s.sources[k]
		}
	}
	b, err := json.MarshalIndent(m, "", "  ")
	if err != nil {
		return fmt.Errorf("trust: %w", err)
	}
	if err := os.WriteFile(filepath.Join(dir, sourcesFile), append(b, '\n'), 0o644); err != nil {
		return fmt.Errorf("trust: %w", err)
	}
	return nil
}

// sortedCountries returns the keys of m in order ("" last).
func sortedCountries(m map[string]*Counts) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.SortFunc(keys, func(a, b string) int {
		switch {
		case a == b:
			return 0
		case a == "":
			return 1
		case b == "":
			return -1
		case a < b:
			return -1
		}
		return 1
	})
	return keys
}
