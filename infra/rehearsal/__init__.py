"""The dress rehearsal: the packaged production stage played end to end on embedded AWS."""
