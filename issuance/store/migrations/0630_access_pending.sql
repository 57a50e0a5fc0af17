-- Reads of personal data are recorded on the request path in access_pending, in the same
-- statement (and commit) as the read itself, so a read is durable before its data leaves;
-- access_chain then moves them into the hash-chained audit log in sets, off the request
-- path (the intake service every quarter second, and every reader of access records
-- before it reads). A read thus no longer waits for a chain's head, which a transaction
-- holds until its commit is flushed, nor pays the chaining one entry at a time.
CREATE TABLE access_pending (
    id       bigserial PRIMARY KEY,
    at       timestamptz NOT NULL DEFAULT now(),
    actor    text NOT NULL,
    office   text NOT NULL,
    action   text NOT NULL,
    subject  text NOT NULL,
    detail   text NOT NULL
);
CREATE RULE access_pending_no_update AS ON UPDATE TO access_pending DO INSTEAD NOTHING;

-- audit_hashes_rows is audit_hashes (0500_audit_set.sql) for entries that each have
-- their own time, actor and office: the same canonical form, which ledger.VerifyAudit
-- recomputes.
CREATE FUNCTION audit_hashes_rows(p_chain smallint, p_seq bigint, p_hash bytea, p_at timestamptz[], p_actor text[],
                                  p_office text[], p_action text[], p_subject text[], p_detail text[])
RETURNS bytea[] LANGUAGE plpgsql IMMUTABLE AS $$
DECLARE
    n int := coalesce(cardinality(p_subject), 0);
    ats timestamptz[] := p_at;  -- local copies: expanded arrays, element i in constant time
    actors text[] := p_actor;
    offices text[] := p_office;
    acts text[] := p_action;
    subs text[] := p_subject;
    dets text[] := p_detail;
    lead text := octet_length(p_chain::text) || ':' || p_chain::text;
    seq text;
    t text;
    h bytea := p_hash;
    out bytea[] := ARRAY[p_hash];
BEGIN
    FOR i IN 1..n LOOP
        seq := (p_seq + i)::text;
        t := (extract(epoch FROM ats[i]) * 1000000)::bigint::text;
        h := sha256(h || convert_to(lead || octet_length(seq) || ':' || seq || octet_length(t) || ':' || t
                 || octet_length(actors[i]) || ':' || actors[i] || octet_length(offices[i]) || ':' || offices[i]
                 || octet_length(acts[i]) || ':' || acts[i]
                 || octet_length(subs[i]) || ':' || subs[i]
                 || octet_length(dets[i]) || ':' || dets[i], 'UTF8'));
        out[i + 1] := h;
    END LOOP;
    RETURN out;
END $$;

-- access_chain moves up to p_limit pending reads, oldest first, onto chain p_chain: one
-- lock of the head for the set. Rows another chainer holds are skipped, so chainers in
-- several processes take disjoint sets. It returns how many it moved.
CREATE FUNCTION access_chain(p_chain smallint, p_limit int) RETURNS bigint LANGUAGE plpgsql AS $$
DECLARE
    head audit_head%ROWTYPE;
    ids bigint[]; ats timestamptz[]; actors text[]; offices text[]; acts text[]; subs text[]; dets text[];
    n int;
    hs bytea[];
BEGIN
    SELECT array_agg(id ORDER BY id), array_agg(at ORDER BY id), array_agg(actor ORDER BY id),
           array_agg(office ORDER BY id), array_agg(action ORDER BY id), array_agg(subject ORDER BY id),
           array_agg(detail ORDER BY id)
      INTO ids, ats, actors, offices, acts, subs, dets
      FROM (SELECT * FROM access_pending ORDER BY id LIMIT p_limit FOR UPDATE SKIP LOCKED) q;
    n := coalesce(cardinality(ids), 0);
    IF n = 0 THEN
        RETURN 0;
    END IF;
    SELECT * INTO head FROM audit_head WHERE chain = p_chain FOR UPDATE;
    hs := audit_hashes_rows(p_chain, head.seq, head.hash, ats, actors, offices, acts, subs, dets);
    INSERT INTO audit_log (chain, seq, at, actor, office, action, subject, detail, prev_hash, hash)
        SELECT p_chain, head.seq + u.i, u.at, u.actor, u.office, u.action, u.subject, u.detail, u.prev, u.hash
          FROM unnest(ats, actors, offices, acts, subs, dets, hs[1:n], hs[2:n + 1])
               WITH ORDINALITY AS u(at, actor, office, action, subject, detail, prev, hash, i);
    UPDATE audit_head SET seq = head.seq + n, hash = hs[n + 1] WHERE chain = p_chain;
    DELETE FROM access_pending WHERE id = ANY (ids);
    RETURN n;
END $$;

-- One look-up at a time: a clerk's register look-up to pre-fill holds open_id (the ID
-- number looked up) until an application for it is submitted by that clerk, the clerk
-- gives it up, or the hold lapses; a look-up of another person meanwhile is refused.
ALTER TABLE access_counts ADD COLUMN open_id text NOT NULL DEFAULT '',
                          ADD COLUMN open_at timestamptz;
