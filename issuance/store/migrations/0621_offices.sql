-- The code table of police offices that take applications and hand cards over. An office exists once it
-- has staff (a user's office is entered here by the trigger below) or an administrator enters it; a closed
-- office stays, inactive, so that its history keeps its code. Intake refuses a delivery office that is not
-- here and active.
CREATE TABLE offices (
    code        text PRIMARY KEY,
    active      boolean NOT NULL DEFAULT true,
    created_at  timestamptz NOT NULL DEFAULT now()
);
INSERT INTO offices (code) SELECT DISTINCT office FROM users ON CONFLICT DO NOTHING;

CREATE FUNCTION offices_from_users() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO offices (code) VALUES (NEW.office) ON CONFLICT DO NOTHING;
    RETURN NEW;
END $$;
CREATE TRIGGER users_office AFTER INSERT OR UPDATE OF office ON users
    FOR EACH ROW EXECUTE FUNCTION offices_from_users();
