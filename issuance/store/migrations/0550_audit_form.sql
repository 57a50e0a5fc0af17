-- audit_form is the canonical form of one audit entry (see audit_hashes): each field
-- as "<octet length>:<text>" in the order chain, seq, time (microseconds since the
-- epoch), actor, office, action, subject, detail, as UTF-8 bytes. An entry's hash is
-- SHA-256(previous hash || audit_form(...)), which ledger.VerifyAudit recomputes.
-- Being one SQL expression, it is inlined into the statements that use it: a step
-- that records one or two entries chains them in the statement itself, without a
-- function call.
CREATE FUNCTION audit_form(p_chain smallint, p_seq bigint, p_at timestamptz, p_actor text, p_office text,
                           p_action text, p_subject text, p_detail text)
RETURNS bytea LANGUAGE sql STABLE AS $$
    SELECT convert_to(octet_length(p_chain::text) || ':' || p_chain::text
        || octet_length(p_seq::text) || ':' || p_seq::text
        || octet_length((extract(epoch FROM p_at) * 1000000)::bigint::text) || ':' || (extract(epoch FROM p_at) * 1000000)::bigint::text
        || octet_length(p_actor) || ':' || p_actor || octet_length(p_office) || ':' || p_office
        || octet_length(p_action) || ':' || p_action || octet_length(p_subject) || ':' || p_subject
        || octet_length(p_detail) || ':' || p_detail, 'UTF8')
$$;

-- audit_hashes chains any number of entries with audit_form.
CREATE OR REPLACE FUNCTION audit_hashes(p_chain smallint, p_seq bigint, p_hash bytea, p_at timestamptz, p_actor text, p_office text,
                                        p_action text[], p_subject text[], p_detail text[])
RETURNS bytea[] LANGUAGE plpgsql STABLE AS $$
DECLARE
    n int := coalesce(cardinality(p_subject), 0);
    acts text[] := p_action;   -- local copies: expanded arrays, element i in constant time
    subs text[] := p_subject;
    dets text[] := p_detail;
    h bytea := p_hash;
    out bytea[] := ARRAY[p_hash];
BEGIN
    IF coalesce(cardinality(p_action), 0) <> n OR coalesce(cardinality(p_detail), 0) <> n THEN
        RAISE EXCEPTION 'audit: % subjects but % actions and % details',
            n, coalesce(cardinality(p_action), 0), coalesce(cardinality(p_detail), 0);
    END IF;
    FOR i IN 1..n LOOP
        h := sha256(h || audit_form(p_chain, p_seq + i, p_at, p_actor, p_office, acts[i], subs[i], dets[i]));
        out[i + 1] := h;
    END LOOP;
    RETURN out;
END $$;
