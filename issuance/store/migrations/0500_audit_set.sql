-- audit_hashes chains entries onto a chain's head (seq, hash): entry i is
-- (p_action[i], p_subject[i], p_detail[i]) with sequence number p_seq + i, all at time
-- p_at by one actor. It returns n + 1 hashes: the head's, then entry i's at i + 1. The
-- canonical form is that of audit_append (see 0001_intake.sql): each field as
-- "<octet length>:<text>", hash = SHA-256(previous hash || canonical form), which
-- ledger.VerifyAudit recomputes. It only computes; audit_append_set and the workflow's
-- statements lock the head, insert the entries and move the head.
CREATE FUNCTION audit_hashes(p_chain smallint, p_seq bigint, p_hash bytea, p_at timestamptz, p_actor text, p_office text,
                             p_action text[], p_subject text[], p_detail text[])
RETURNS bytea[] LANGUAGE plpgsql IMMUTABLE AS $$
DECLARE
    n int := coalesce(cardinality(p_subject), 0);
    acts text[] := p_action;   -- local copies: expanded arrays, element i in constant time
    subs text[] := p_subject;
    dets text[] := p_detail;
    lead text := octet_length(p_chain::text) || ':' || p_chain::text;
    mid text := (extract(epoch FROM p_at) * 1000000)::bigint::text;
    seq text;
    h bytea := p_hash;
    out bytea[] := ARRAY[p_hash];
BEGIN
    IF coalesce(cardinality(p_action), 0) <> n OR coalesce(cardinality(p_detail), 0) <> n THEN
        RAISE EXCEPTION 'audit: % subjects but % actions and % details',
            n, coalesce(cardinality(p_action), 0), coalesce(cardinality(p_detail), 0);
    END IF;
    mid := octet_length(mid) || ':' || mid || octet_length(p_actor) || ':' || p_actor || octet_length(p_office) || ':' || p_office;
    FOR i IN 1..n LOOP
        seq := (p_seq + i)::text;
        h := sha256(h || convert_to(lead || octet_length(seq) || ':' || seq || mid
                 || octet_length(acts[i]) || ':' || acts[i]
                 || octet_length(subs[i]) || ':' || subs[i]
                 || octet_length(dets[i]) || ':' || dets[i], 'UTF8'));
        out[i + 1] := h;
    END LOOP;
    RETURN out;
END $$;

-- audit_append_set appends many entries by one actor to a chain in one call: the head
-- row is locked and moved once, however many entries there are (a shipment of
-- thousands of cards). It returns how many entries were appended; an empty set appends
-- nothing and locks nothing.
CREATE FUNCTION audit_append_set(p_chain smallint, p_actor text, p_office text,
                                 p_action text[], p_subject text[], p_detail text[])
RETURNS bigint LANGUAGE plpgsql AS $$
DECLARE
    n int := coalesce(cardinality(p_subject), 0);
    head audit_head%ROWTYPE;
    t timestamptz := now();
    hs bytea[];
BEGIN
    IF n = 0 THEN
        RETURN 0;
    END IF;
    SELECT * INTO head FROM audit_head WHERE chain = p_chain FOR UPDATE;
    hs := audit_hashes(p_chain, head.seq, head.hash, t, p_actor, p_office, p_action, p_subject, p_detail);
    WITH ins AS (
        INSERT INTO audit_log (chain, seq, at, actor, office, action, subject, detail, prev_hash, hash)
        SELECT p_chain, head.seq + u.i, t, p_actor, p_office, u.action, u.subject, u.detail, u.prev, u.hash
          FROM unnest(p_action, p_subject, p_detail, hs[1:n], hs[2:n + 1]) WITH ORDINALITY AS u(action, subject, detail, prev, hash, i))
    UPDATE audit_head SET seq = head.seq + n, hash = hs[n + 1] WHERE chain = p_chain;
    RETURN n;
END $$;

-- One entry is a set of one: a single implementation of the canonical form.
CREATE OR REPLACE FUNCTION audit_append(p_chain smallint, p_actor text, p_office text, p_action text, p_subject text, p_detail text)
RETURNS bigint LANGUAGE sql AS $$
    SELECT audit_append_set(p_chain, p_actor, p_office, ARRAY[p_action], ARRAY[p_subject], ARRAY[p_detail])
$$;

-- 64 chains instead of 16: a transaction holds its chain's head until it commits, and
-- with dozens of workers (stations, counters, stages) 16 heads made them queue on one
-- another. New chains start from the zero hash like the first ones.
INSERT INTO audit_head (chain, seq, hash)
    SELECT g, 0, '\x0000000000000000000000000000000000000000000000000000000000000000' FROM generate_series(16, 63) g;
