"""Pure domain: records, vocabularies, eligibility, conflicts, panel model. No I/O, no clock."""
