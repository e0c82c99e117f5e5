"""What a board claims: a suite's plan and its trials, paired statistics, rank intervals, board assembly; torch-free,
no SQL."""
