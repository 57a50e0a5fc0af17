-- audit_append_set appends many entries by one actor to a chain in one call: the head
-- row is locked and moved once, however many entries a statement writes (a shipment of
-- thousands of cards), instead of once per entry. Entry i is (p_action[i],
-- p_subject[i], p_detail[i]); all share one time. The canonical form and the hash are
-- those of audit_append (see 0001_intake.sql), which ledger.VerifyAudit recomputes.
-- It returns how many entries were appended; an empty set appends nothing and locks
-- nothing.
CREATE FUNCTION audit_append_set(p_chain smallint, p_actor text, p_office text,
                                 p_action text[], p_subject text[], p_detail text[])
RETURNS bigint LANGUAGE plpgsql AS $$
DECLARE
    n int := coalesce(cardinality(p_subject), 0);
    head audit_head%ROWTYPE;
    t timestamptz := now();
    lead text;
    mid text;
    seq text;
    h bytea;
    prevs bytea[] := '{}';
    hashes bytea[] := '{}';
BEGIN
    IF n = 0 THEN
        RETURN 0;
    END IF;
    IF coalesce(cardinality(p_action), 0) <> n OR coalesce(cardinality(p_detail), 0) <> n THEN
        RAISE EXCEPTION 'audit_append_set: % subjects but % actions and % details',
            n, coalesce(cardinality(p_action), 0), coalesce(cardinality(p_detail), 0);
    END IF;
    SELECT * INTO head FROM audit_head WHERE chain = p_chain FOR UPDATE;
    lead := octet_length(p_chain::text) || ':' || p_chain::text;
    mid := (extract(epoch FROM t) * 1000000)::bigint::text;
    mid := octet_length(mid) || ':' || mid || octet_length(p_actor) || ':' || p_actor || octet_length(p_office) || ':' || p_office;
    h := head.hash;
    FOR i IN 1..n LOOP
        seq := (head.seq + i)::text;
        prevs[i] := h;
        h := sha256(h || convert_to(lead || octet_length(seq) || ':' || seq || mid
                 || octet_length(p_action[i]) || ':' || p_action[i]
                 || octet_length(p_subject[i]) || ':' || p_subject[i]
                 || octet_length(p_detail[i]) || ':' || p_detail[i], 'UTF8'));
        hashes[i] := h;
    END LOOP;
    -- One statement writes the entries and moves the head.
    WITH ins AS (
        INSERT INTO audit_log (chain, seq, at, actor, office, action, subject, detail, prev_hash, hash)
        SELECT p_chain, head.seq + u.i, t, p_actor, p_office, u.action, u.subject, u.detail, u.prev, u.hash
          FROM unnest(p_action, p_subject, p_detail, prevs, hashes) WITH ORDINALITY AS u(action, subject, detail, prev, hash, i))
    UPDATE audit_head SET seq = head.seq + n, hash = h WHERE chain = p_chain;
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
