"""The GitOps loop: init, the PR comment, the workflows, end to end."""
