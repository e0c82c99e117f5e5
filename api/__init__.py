"""The HTTP API: submissions, the leaderboard, the benchmark list and health checks. Never imports torch."""
