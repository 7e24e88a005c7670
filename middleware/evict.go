package middleware

import (
	"github.com/portcullis-oauth/portcullis/shared/revocation"
)

// The eviction methods are safe for concurrent use. Each also makes any
// introspection call in flight at that moment leave its answer uncached (so
// a revocation that overtakes the call cannot be undone by it), and makes
// later requests start a new call instead of joining that one.

// EvictTokenHash drops the entry of the token whose revocation.HashString
// is hash, and, when negative caching is on, records the token as inactive
// for the negative TTL: a revoked token never comes back, and not asking
// again means a stale answer from an auth server that has not yet heard of
// the revocation cannot be cached. Only a token a lookup could still race
// goes into the negative cache: one with an answer cached here or an
// introspection call in flight. Any other (most events name tokens this
// process never saw) costs one cache lookup and a slot in a fixed-size
// table (recentRevocations), which refuses an active answer for it within
// the negative TTL while the table still holds it. A hash
// revocation.ParseHash refuses purges the whole cache.
func (v *Verifier) EvictTokenHash(hash string) {
	key, ok := revocation.ParseHash(hash)
	if !ok {
		v.Purge()
		return
	}
	if _, cached := v.pos.GetEntryQuietly(key); !cached && v.flights.Load() == 0 {
		if v.neg != nil {
			v.recent.add(key, v.now().Add(v.cfg.negativeTTL).UnixNano())
		}
		return
	}
	v.mu.Lock()
	defer v.mu.Unlock()
	_, racing := v.pos.Invalidate(key)
	for f := range v.inflight {
		if f.key == key {
			f.revoked = true
			racing = true
		}
	}
	if !racing {
		return
	}
	v.gen.Add(1)
	if v.neg != nil {
		v.neg.Add(key, v.now().Add(v.cfg.negativeTTL).UnixNano())
	}
	call(v.cfg.hooks.OnEvict)
}

// EvictSubject drops every entry whose introspected sub is sub. An empty
// sub purges the whole cache (it would match every token without a sub).
func (v *Verifier) EvictSubject(sub string) {
	if sub == "" {
		v.Purge()
		return
	}
	v.evictWhere(func(id *Identity) bool { return id.Subject == sub })
}

// EvictClient drops every entry whose client_id is clientID. An empty
// clientID purges the whole cache.
func (v *Verifier) EvictClient(clientID string) {
	if clientID == "" {
		v.Purge()
		return
	}
	v.evictWhere(func(id *Identity) bool { return id.ClientID == clientID })
}

// evictWhere scans the cache: O(size), fine for rare events.
func (v *Verifier) evictWhere(match func(*Identity) bool) {
	v.mu.Lock()
	defer v.mu.Unlock()
	v.gen.Add(1)
	for e := range v.pos.Values() {
		if match(&e.id) {
			v.pos.Invalidate(e.key)
		}
	}
	v.revokeInflight()
	call(v.cfg.hooks.OnEvict)
}

// Purge drops every cached answer, active and inactive.
func (v *Verifier) Purge() {
	v.mu.Lock()
	defer v.mu.Unlock()
	v.gen.Add(1)
	v.pos.InvalidateAll()
	if v.neg != nil {
		v.neg.Purge()
	}
	v.revokeInflight()
	call(v.cfg.hooks.OnEvict)
}

func (v *Verifier) revokeInflight() {
	for f := range v.inflight {
		f.revoked = true
	}
}

// Apply carries out a revocation event. A kind it does not know purges
// everything, which is always safe; unknown fields of later versions are
// ignored, as package revocation asks.
func (v *Verifier) Apply(e revocation.Event) {
	switch e.Kind {
	case revocation.KindTokens:
		v.evictHashes(e.TokenHashes)
	case revocation.KindSubject:
		v.evictHashes(e.TokenHashes)
		v.EvictSubject(e.Subject)
	case revocation.KindClient:
		v.evictHashes(e.TokenHashes)
		v.EvictClient(e.ClientID)
	default:
		v.Purge()
	}
}

// evictHashes evicts (and so refuses for the negative TTL) each token an
// event names. Subject and client events name them too, so that a token
// stays refused even if the auth server asked next has not applied the
// event yet.
func (v *Verifier) evictHashes(hs []string) {
	for _, h := range hs {
		v.EvictTokenHash(h)
	}
}

// Len reports the number of cached active answers (for tests and metrics).
func (v *Verifier) Len() int { return v.pos.EstimatedSize() }
