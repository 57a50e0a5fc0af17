-- A printer an operator took down (jammed, out of ribbon, maintenance): its queue waits
-- until the operator brings it up again. No row: the printer works.
CREATE TABLE printer_holds (
    printer   text PRIMARY KEY,
    reason    text NOT NULL,
    held_by   text NOT NULL,
    held_at   timestamptz NOT NULL DEFAULT now()
);
