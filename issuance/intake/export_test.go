package intake

// QueuedLookups returns how many look-ups wait for their group (lookups.go).
func (s *Service) QueuedLookups() int {
	s.groups.mu.Lock()
	defer s.groups.mu.Unlock()
	return len(s.groups.queue)
}
