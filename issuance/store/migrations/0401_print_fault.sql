-- A print job failed for good by the printer itself (printer_fault: jam, offline)
-- stops that printer's queue until an operator retries it; one that failed for its
-- card data (a face that cannot be drawn) is skipped and the queue goes on.
ALTER TABLE print_jobs ADD COLUMN printer_fault boolean NOT NULL DEFAULT false;
