"""GitHub: the PR comment, the check run, annotations, outputs and the job summary."""
